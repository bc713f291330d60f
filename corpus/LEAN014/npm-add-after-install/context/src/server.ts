import express from 'express';
