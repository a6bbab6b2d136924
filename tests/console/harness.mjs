// Processes and fixtures for the console tests: postern serve and postern-kandji-sim on
// loopback port 0, each ready when it prints `listening on HOST:PORT`.
import {spawn} from 'node:child_process';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

const START_BOUND_MS = 60_000;

// Starts `argv` and resolves with {child, port} once it reports its port; rejects (with its
// stderr) when it exits first or after START_BOUND_MS.
export function startListening(argv, name) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not report its port: ${err}`));
    }, START_BOUND_MS);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on .*:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({child, port: Number(m[1]), stderr: () => err});
      }
    });
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${name} cannot be started: ${e.message}`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening: ${err}`));
    });
  });
}

// The sample tailnet plus a device whose name is markup and `extra` generated devices.
export function writeTailnet(sourceDir, path, extra) {
  const tailnet = JSON.parse(readFileSync(join(sourceDir, 'samples/tailnet.json'), 'utf8'));
  const template = tailnet.devices.find((d) => d.hostname === 'bob-linux');
  const device = (i, hostname) => ({
    ...template,
    id: String(200000 + i),
    nodeId: `nGen${String(i).padStart(7, '0')}`,
    name: `gen-${i}.example-tailnet.ts.net`,
    hostname,
    addresses: [`100.${65 + Math.floor(i / 62500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`],
    user: i % 2 ? 'bob@example.com' : 'erin@example.com',
    os: i % 3 ? 'linux' : 'windows',
    postureIdentity: {disabled: true},
  });
  tailnet.devices.push(device(0, '<img src=x onerror=alert(1)>'));
  for (let i = 1; i <= extra; i++) tailnet.devices.push(device(i, `host-${String(i).padStart(5, '0')}`));
  writeFileSync(path, JSON.stringify(tailnet));
  return tailnet.devices.length;
}

export function scratchDir(root, name) {
  const dir = join(root, name);
  mkdirSync(dir, {recursive: true});
  return dir;
}

// A small JSON client for the API with a bearer token (the test's view from outside the browser).
export function apiClient(base, token) {
  const call = async (method, path, {body, contentType, headers = {}} = {}) => {
    const h = {Authorization: `Bearer ${token}`, ...headers};
    if (body !== undefined) h['Content-Type'] = contentType || 'application/json';
    const response = await fetch(base + path, {method, headers: h, body});
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* HuJSON or empty */ }
    return {status: response.status, text, json, headers: response.headers};
  };
  return call;
}
