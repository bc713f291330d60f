import express from 'express';
import bcrypt from 'bcrypt';
const app = express();
app.get('/', (_req, res) => res.send(bcrypt.hashSync('x', 4)));
app.listen(3000);
