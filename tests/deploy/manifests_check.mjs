// Renders every overlay of deploy/kubernetes and checks, offline:
//  - every object against its Kubernetes schema (kubernetes-models' validators; the Prometheus
//    Operator's for the ServiceMonitor);
//  - that the pieces agree with each other and with mproxyd: container args are flags mproxyd
//    --help lists, file arguments lie in mounted volumes, the ConfigMap's config file fits
//    config.proto, its listeners are the container ports the probes, Services, NetworkPolicy and
//    ServiceMonitor name, the grace period covers preStop delay + drain timeout, the pod runs as the
//    Dockerfile's user, and the dashboards ConfigMap holds deploy/grafana/*.json unchanged.
// Usage: node manifests_check.mjs --mproxyd PATH --modules DIR
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import {
  configProblems,
  importFrom,
  kubernetesDir,
  mproxydFlags,
  overlays,
  parseArguments,
  parseObjects,
  readConfigSchema,
  renderOverlay,
  sourceDir,
} from "./deploy_lib.mjs";

const options = parseArguments(process.argv.slice(2));
const YAML = await importFrom(options.modules, "yaml");
const flags = mproxydFlags(options.mproxyd);
const configSchema = readConfigSchema();
const rendered = Object.fromEntries(overlays.map((o) => [o, parseObjects(YAML, renderOverlay(o))]));

// apiVersion + kind -> the module whose class validates it.
function modelModule(object) {
  const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
  if (group === "monitoring.coreos.com")
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${object.kind}`;
  return `kubernetes-models/${group ? group + "/" : ""}${version}/${object.kind}`;
}

const find = (objects, kind, name) => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name));
const matches = (selector, labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const listenPort = (address) => Number(address.slice(address.lastIndexOf(":") + 1));

// The parts of one rendered overlay that most checks look at.
function deploymentParts(objects) {
  const deployment = find(objects, "Deployment", "mproxy");
  assert.ok(deployment, "no Deployment mproxy");
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c) => c.name === "mproxyd");
  assert.ok(container, "no container mproxyd");
  const configArgument = container.args.find((a) => a.startsWith("--config="));
  assert.ok(configArgument, "the container has no --config=FILE argument");
  const configPath = configArgument.slice("--config=".length);
  const configMount = container.volumeMounts.find((m) => configPath.startsWith(m.mountPath + "/"));
  assert.ok(configMount, `--config ${configPath} is not in a mounted volume`);
  const configVolume = pod.volumes.find((v) => v.name === configMount.name);
  assert.ok(configVolume?.configMap, `--config ${configPath} is not from a ConfigMap volume`);
  const configMap = find(objects, "ConfigMap", configVolume.configMap.name);
  assert.ok(configMap, `the ConfigMap ${configVolume.configMap.name} the pod mounts is not rendered`);
  const configKey = path.relative(configMount.mountPath, configPath);
  assert.ok(configMap.data?.[configKey], `ConfigMap ${configMap.metadata.name} has no key ${configKey}`);
  const config = YAML.parse(configMap.data[configKey]);
  const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
  return { deployment, pod, container, configPath, configMount, config, ports };
}

for (const overlay of overlays) {
  const objects = rendered[overlay];

  test(`${overlay}: every object is valid against its Kubernetes schema`, async () => {
    assert.ok(objects.length >= 10, `only ${objects.length} objects rendered`);
    for (const object of objects) {
      const where = `${object.kind} ${object.metadata?.name}`;
      let Model;
      try {
        Model = (await importFrom(options.modules, modelModule(object)))[object.kind];
      } catch (error) {
        assert.fail(`${where}: no schema for ${object.apiVersion} ${object.kind} (${error.message})`);
      }
      assert.doesNotThrow(() => new Model(object).validate(), `${where} (${overlay})`);
    }
  });

  test(`${overlay}: every namespaced object is in namespace mproxy`, () => {
    for (const object of objects)
      if (object.kind !== "Namespace")
        assert.equal(object.metadata.namespace, "mproxy", `${object.kind} ${object.metadata.name}`);
  });

  test(`${overlay}: the container's args are flags mproxyd accepts`, (t) => {
    const { container } = deploymentParts(objects);
    const used = container.args.map((a) => a.split("=")[0]);
    for (const flag of used) assert.match(flag, /^--[a-z-]+$/, `argument ${flag} is not a --flag=value`);
    const unknown = used.filter((flag) => !flags.has(flag));
    if (unknown.length && !flags.has("--config")) {
      t.skip(`${options.mproxyd} predates --config (not in its --help): not checked: ${unknown.join(" ")}`);
      return;
    }
    assert.deepEqual(unknown, [], `mproxyd --help does not list ${unknown.join(" ")}`);
  });

  test(`${overlay}: file arguments name files in the volumes mounted for them`, () => {
    const { container, pod } = deploymentParts(objects);
    const secretFiles = { "--ca-cert": true, "--ca-key": true, "--control-token-file": true };
    for (const argument of container.args) {
      const [flag, value] = argument.split("=");
      if (!value?.startsWith("/")) continue;
      const mount = container.volumeMounts.find((m) => value.startsWith(m.mountPath + "/"));
      assert.ok(mount, `${flag} ${value} is not under any volumeMount`);
      assert.equal(mount.subPath, undefined, `${mount.name} uses subPath: the kubelet would never update it`);
      const volume = pod.volumes.find((v) => v.name === mount.name);
      assert.ok(volume, `no volume ${mount.name}`);
      if (secretFiles[flag]) {
        // The same Secret in every replica: clients trust one CA whichever replica serves them.
        assert.ok(volume.secret, `${flag} must come from a Secret, not ${Object.keys(volume)}`);
        const key = path.relative(mount.mountPath, value);
        assert.ok(!volume.secret.items || volume.secret.items.some((i) => i.path === key), `${flag}: no ${key}`);
      }
    }
    for (const flag of Object.keys(secretFiles))
      assert.ok(container.args.some((a) => a.startsWith(flag + "=")), `the container does not pass ${flag}`);
  });

  test(`${overlay}: the ConfigMap's config file fits config.proto`, () => {
    const { config } = deploymentParts(objects);
    assert.deepEqual(configProblems(configSchema, "ServerConfig", config), []);
    assert.ok(config.rules?.length > 0, "the config file carries no seed rules");
  });

  test(`${overlay}: listeners, container ports, probes and Services agree`, () => {
    const { config, container, ports, deployment } = deploymentParts(objects);
    const listeners = { proxy: config.listen, control: config.control?.listen, metrics: config.metrics?.listen };
    for (const [name, address] of Object.entries(listeners)) {
      assert.ok(address, `the config file sets no ${name} listener (mproxyd's default is loopback only)`);
      assert.match(address, /^(0\.0\.0\.0|\[::\]):\d+$/, `${name} listener ${address}: not every interface`);
      assert.equal(ports[name], listenPort(address), `containerPort ${name} vs the config's ${address}`);
    }
    // gRPC health on the control port: "" for liveness, "mproxy.ready" (false while draining) for
    // readiness.
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      assert.equal(container[probe]?.grpc?.port, ports.control, `${probe} is not a gRPC probe of the control port`);
    }
    assert.equal(container.livenessProbe.grpc.service ?? "", "", "liveness must ask for the server's health");
    assert.equal(container.readinessProbe.grpc.service, "mproxy.ready");

    const podLabels = deployment.spec.template.metadata.labels;
    assert.ok(matches(deployment.spec.selector.matchLabels, podLabels), "the Deployment does not select its pods");
    const services = objects.filter((o) => o.kind === "Service");
    for (const name of ["mproxy-proxy", "mproxy-control", "mproxy-metrics", "mproxy-headless"])
      assert.ok(find(objects, "Service", name), `no Service ${name}`);
    assert.equal(find(objects, "Service", "mproxy-headless").spec.clusterIP, "None");
    for (const service of services) {
      assert.ok(matches(service.spec.selector, podLabels), `Service ${service.metadata.name} selects no mproxy pod`);
      for (const port of service.spec.ports)
        assert.ok(port.targetPort in ports, `Service ${service.metadata.name}: targetPort ${port.targetPort}`);
    }
  });

  test(`${overlay}: the grace period covers the preStop delay and the drain timeout`, () => {
    const { config, container, pod } = deploymentParts(objects);
    const hook = container.lifecycle?.preStop?.exec?.command?.join(" ") ?? "";
    const delay = Number(hook.match(/\bsleep (\d+)/)?.[1]);
    assert.ok(delay >= 0, `the preStop hook has no leading sleep: ${hook}`);
    assert.match(hook, /kill -TERM 1\b/, "the preStop hook does not start the drain (SIGTERM to mproxyd)");
    const drain = config.drain_timeout_seconds ?? 30;
    assert.ok(
      pod.terminationGracePeriodSeconds >= delay + drain + 5,
      `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} < preStop ${delay} s + drain ${drain} s + 5`,
    );
  });

  test(`${overlay}: the pod runs as the Dockerfile's user on a read-only root`, () => {
    const { pod, container } = deploymentParts(objects);
    const user = readFileSync(path.join(sourceDir, "Dockerfile"), "utf8").match(/^USER (\d+):(\d+)$/m);
    assert.ok(user, "the Dockerfile has no numeric USER uid:gid");
    assert.equal(pod.securityContext.runAsUser, Number(user[1]));
    assert.equal(pod.securityContext.runAsGroup, Number(user[2]));
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
    for (const side of ["requests", "limits"])
      for (const resource of ["cpu", "memory"])
        assert.ok(container.resources?.[side]?.[resource], `no ${side}.${resource}`);
    // The state directory must be writable: an emptyDir.
    const { config, configPath } = deploymentParts(objects);
    const stateMount = container.volumeMounts.find((m) => m.mountPath === config.state_dir);
    assert.ok(stateMount, `state_dir ${config.state_dir} is not a mounted volume (the root is read-only)`);
    assert.ok(pod.volumes.find((v) => v.name === stateMount.name).emptyDir, "the state directory is not an emptyDir");
    assert.ok(!configPath.startsWith(config.state_dir + "/"));
  });

  test(`${overlay}: PodDisruptionBudget, NetworkPolicy and the optional HPA and ServiceMonitor point at mproxy`, () => {
    const { deployment, ports } = deploymentParts(objects);
    const podLabels = deployment.spec.template.metadata.labels;
    assert.ok(matches(find(objects, "PodDisruptionBudget").spec.selector.matchLabels, podLabels));
    const policy = find(objects, "NetworkPolicy");
    assert.ok(matches(policy.spec.podSelector.matchLabels, podLabels));
    const policed = policy.spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port));
    assert.deepEqual([...policed].sort(), Object.keys(ports).sort(), "every container port has one ingress rule");
    for (const rule of policy.spec.ingress)
      if (rule.ports.some((p) => p.port !== "proxy"))
        assert.ok(rule.from?.every((peer) => peer.namespaceSelector), "control and metrics: chosen namespaces only");
    const autoscaler = find(objects, "HorizontalPodAutoscaler");
    const monitor = find(objects, "ServiceMonitor");
    if (overlay === "production") assert.ok(autoscaler && monitor, "production has an HPA and a ServiceMonitor");
    if (autoscaler) {
      assert.equal(autoscaler.spec.scaleTargetRef.kind, "Deployment");
      assert.equal(autoscaler.spec.scaleTargetRef.name, deployment.metadata.name);
      assert.ok(autoscaler.spec.minReplicas >= 2, "an autoscaled floor below 2 leaves no replica while one drains");
    }
    if (monitor) {
      const service = objects.find(
        (o) => o.kind === "Service" && !o.spec.clusterIP && matches(monitor.spec.selector.matchLabels, o.metadata.labels),
      );
      assert.ok(service, "the ServiceMonitor selects no Service");
      for (const endpoint of monitor.spec.endpoints)
        assert.ok(service.spec.ports.some((p) => p.name === endpoint.port), `no port ${endpoint.port}`);
    }
  });

  test(`${overlay}: the dashboards ConfigMap is deploy/grafana/*.json, labelled for the sidecar`, () => {
    const dashboards = find(objects, "ConfigMap", "mproxy-grafana-dashboards");
    assert.ok(dashboards, "no ConfigMap mproxy-grafana-dashboards");
    assert.equal(dashboards.metadata.labels.grafana_dashboard, "1");
    const grafanaDir = path.join(sourceDir, "deploy/grafana");
    const files = readdirSync(grafanaDir).filter((f) => f.endsWith(".json")).sort();
    assert.deepEqual(Object.keys(dashboards.data).sort(), files);
    for (const file of files) {
      assert.equal(dashboards.data[file], readFileSync(path.join(grafanaDir, file), "utf8"), file);
      assert.doesNotThrow(() => JSON.parse(dashboards.data[file]), file);
    }
    // kubectl apply keeps the whole object in an annotation, which must stay under 256 KiB.
    assert.ok(JSON.stringify(dashboards).length < 256 * 1024, "the dashboards ConfigMap is too large to apply");
  });
}

test("dev runs one replica without the parts that need cluster add-ons", () => {
  const objects = rendered.dev;
  assert.equal(find(objects, "Deployment", "mproxy").spec.replicas, 1);
  assert.equal(find(objects, "HorizontalPodAutoscaler"), undefined);
  assert.equal(find(objects, "ServiceMonitor"), undefined);
});
