// Public surface of the routing engine (DESIGN §2 L2). The data plane imports from here.
export { cohortPoint, DEFAULT_ROUTING, planRoute, routePrimary, routeShadows, type RoutePlan, type RoutingTable, type ShadowShare, type VersionSource } from './plan.js';
