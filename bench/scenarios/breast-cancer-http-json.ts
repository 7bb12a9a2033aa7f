// The smallest model (logistic regression on 30 features): HTTP and serving overhead only.
import { httpJsonScenario } from '../lib/http-json-scenario.js';

export default httpJsonScenario({
  name: 'breast-cancer-http-json',
  model: 'breast-cancer',
  order: 20,
  description: 'breast-cancer logistic regression (30→2) over HTTP JSON at 64 connections: same servers as digits.',
  goals: false,
});
