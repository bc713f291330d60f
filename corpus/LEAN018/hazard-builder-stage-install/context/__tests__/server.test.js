const request = require('supertest');
test('x', () => {});
