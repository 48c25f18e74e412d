// A simulated fleet for the browser tests and benches: hosts that post
// heartbeats straight to the REST API (no agent processes), 8 GPUs each.

/** `host-0000`, `host-0001`, … */
export const hostId = (i) => `host-${String(i).padStart(4, '0')}`;

/** Host `i` has `i % 9` idle GPUs of 8; `tick` moves the busy ones' readings. */
export function heartbeat(i, tick = 0) {
  const free = i % 9;
  const gpus = [];
  for (let g = 0; g < 8; g += 1) {
    const busy = g >= free;
    gpus.push({
      index: g,
      uuid: `GPU-${i}-${g}`,
      name: g % 2 === 0 ? 'NVIDIA H100 80GB HBM3' : 'NVIDIA A100 80GB',
      utilization_percent: busy ? 50 + ((i + g + tick) % 50) : 0,
      memory_used_bytes: busy ? 40 * 2 ** 30 : 0,
      memory_total_bytes: 80 * 2 ** 30,
      temperature_c: 40 + ((g + tick) % 30),
      power_watts: busy ? 300 + ((tick * 7) % 300) : 70,
      power_limit_watts: 700,
      processes: busy ? [{ pid: 1000 + g, name: 'python', memory_bytes: 40 * 2 ** 30 }] : [],
    });
  }
  return {
    protocol_version: 1,
    host_id: hostId(i),
    hostname: `${hostId(i)}.rack${i % 10}.lab`,
    agent_version: 'fleet-sim',
    system: {
      cpu_percent: (i + tick) % 100,
      cpu_count: 64,
      memory_used_bytes: 100 * 2 ** 30,
      memory_total_bytes: 512 * 2 ** 30,
      disk_used_bytes: 2 ** 40,
      disk_total_bytes: 4 * 2 ** 40,
    },
    gpus,
    gpu_error: null,
  };
}

/** Posts one heartbeat for each of `count` hosts, `concurrency` at a time. */
export async function postFleet(server, count, { tick = 0, concurrency = 16 } = {}) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next;
      next += 1;
      const response = await server.api('/api/v1/agents/heartbeat', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(heartbeat(i, tick)),
      });
      if (response.status !== 200) throw new Error(`heartbeat ${hostId(i)}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Keeps the fleet reporting, every host once per `intervalMs`, until the
 * returned function is called (which resolves once the last round ended).
 */
export function keepReporting(server, count, { intervalMs = 3000 } = {}) {
  let stopped = false;
  let tick = 1;
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      await postFleet(server, count, { tick });
      tick += 1;
      const wait = intervalMs - (Date.now() - started);
      if (wait > 0 && !stopped) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}
