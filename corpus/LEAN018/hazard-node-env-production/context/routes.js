import { Router } from 'express';
import pino from 'pino';

export const router = Router();
const log = pino();
