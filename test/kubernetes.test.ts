// deploy/kubernetes: every manifest validated against the Kubernetes API schemas (kubernetes-models,
// and the prometheus-operator CRDs), the kustomization listing exactly the files there, the probes
// and ports answering on a real server, and every metric the PrometheusRules and the HPA name is
// one a running server really exports.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT, startTestGateway, type TestGateway } from './helpers/gateway.js';

const DIR = path.join(ROOT, 'deploy/kubernetes');
const require = createRequire(import.meta.url);
const MODELS: Record<string, string> = {
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/PersistentVolumeClaim': 'kubernetes-models/v1/PersistentVolumeClaim',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'monitoring.coreos.com/v1/ServiceMonitor': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
};

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec: any };
const manifests = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const docs: { file: string; doc: Doc }[] = manifests.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8')).map((d) => {
    expect(d.errors, file).toEqual([]);
    return { file, doc: d.toJS() as Doc };
  }),
);
const find = (kind: string, name?: string) => docs.map((d) => d.doc).find((d) => d.kind === kind && (name === undefined || d.metadata.name === name))!;

describe('manifests', () => {
  it.each(docs.map((d) => [`${d.file}: ${d.doc.kind} ${d.doc.metadata.name}`, d.doc] as const))('%s is valid against its API schema', (_name, doc) => {
    const module = MODELS[`${doc.apiVersion}/${doc.kind}`];
    expect(module, `${doc.apiVersion}/${doc.kind} has a schema here`).toBeDefined();
    const Model = Object.values(require(module!) as Record<string, new (d: unknown) => { validate(): void }>)[0]!;
    expect(() => new Model(doc).validate()).not.toThrow();
  });

  it('a broken manifest is caught (the validation can fail)', () => {
    const Model = Object.values(require(MODELS['apps/v1/Deployment']!) as Record<string, new (d: unknown) => { validate(): void }>)[0]!;
    const broken = structuredClone(find('Deployment'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'eight thousand';
    expect(() => new Model(broken).validate()).toThrow(/containerPort/);
  });

  it('the kustomization lists exactly the manifests in the directory', () => {
    const k = parseAllDocuments(readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
    expect([...k.resources].sort()).toEqual([...manifests].sort());
  });

  it('the drain fits the grace period; the admin Service is cluster-internal; the token comes from a Secret', () => {
    const pod = find('Deployment').spec.template.spec;
    const c = pod.containers[0];
    const env = Object.fromEntries(c.env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
    const preStopS = Number(c.lifecycle.preStop.exec.command[1]);
    expect(preStopS + Number(env.SLUICE_DRAIN_TIMEOUT_MS) / 1000 + 5).toBeLessThan(pod.terminationGracePeriodSeconds);
    expect(find('Service', 'sluice-admin').spec.type).toBe('ClusterIP');
    expect(c.env.find((e: { name: string }) => e.name === 'SLUICE_ADMIN_TOKEN').valueFrom.secretKeyRef).toEqual({ name: 'sluice-admin', key: 'token' });
    expect(docs.some((d) => d.doc.kind === 'Secret')).toBe(false); // never a token in the repository
  });
});

describe('against a running server', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ models: ['breast-cancer'], config: { adminToken: 'k8s-test', adminPort: 0 } });
  });
  afterAll(() => t?.stop());

  it('the probes answer 200 on the data port the container declares', async () => {
    const c = find('Deployment').spec.template.spec.containers[0];
    expect(c.ports.find((p: { name: string }) => p.name === 'http').containerPort).toBe(8000); // the server's default port
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
      expect(probe.httpGet.port).toBe('http');
      expect((await fetch(`${t.url}${probe.httpGet.path}`)).status).toBe(200);
    }
  });

  it('every metric the rules, the HPA and the ServiceMonitor rely on is exported', async () => {
    const text = await (await fetch(`http://127.0.0.1:${t.gw.adminPort}/metrics`, { headers: { authorization: 'Bearer k8s-test' } })).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const rules = find('PrometheusRule').spec.groups.flatMap((g: { rules: { expr: string }[] }) => g.rules);
    const named = new Set<string>(rules.flatMap((r: { expr: string }) => [...r.expr.matchAll(/\bsluice_[a-z_]+/g)].map((m) => m[0])));
    named.add(find('HorizontalPodAutoscaler').spec.metrics.find((m: { type: string }) => m.type === 'Pods').pods.metric.name);
    expect(named.size).toBeGreaterThan(5);
    for (const name of named) expect(exported.has(name), name).toBe(true);
    expect(find('ServiceMonitor').spec.endpoints[0].path).toBe('/metrics');
  });
});
