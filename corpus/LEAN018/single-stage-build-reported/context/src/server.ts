import express from 'express';
import pino from 'pino';
