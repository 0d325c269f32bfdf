import { storeContract } from './store-contract.js';
import { createMemoryStores } from '../../shared/store/memory.js';
import { createRedisStores } from '../../shared/store/redis.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

storeContract('memory', async () => createMemoryStores());
storeContract('redis (real redis-server)', async () => createRedisStores(await testRedisUrl(), uniquePrefix('store')));
