// Issue 2's headline: sluice vs naive fastify vs naive uWS (and the uWS hello ceiling) on
// the digits MLP over OIP JSON at 64 connections.
import { httpJsonScenario } from '../lib/http-json-scenario.js';

export default httpJsonScenario({
  name: 'digits-http-json',
  model: 'digits',
  order: 10,
  description: 'digits MLP (64→64→10) over HTTP JSON at 64 connections: sluice vs naive fastify, naive uWS, uWS hello, raw ORT.',
  goals: true,
});
