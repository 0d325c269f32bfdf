module.exports = {}; // see package.json
