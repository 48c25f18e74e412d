// Test and benchmark data put in through the MLflow REST API (the quickest
// way to a project with runs and curves, no agent needed).

async function mlflow(server, route, body) {
  const response = await server.api(`/api/2.0/mlflow/${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${route}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/**
 * A finished project `name` with `runs` runs, each with a learning-rate
 * param and `steps` points of `loss` and `accuracy`. Returns the run ids.
 */
export async function seedProject(server, { name = 'demo', runs = 4, steps = 200 } = {}) {
  const { experiment_id: experimentId } = await mlflow(server, 'experiments/create', { name });
  const ids = [];
  for (let r = 0; r < runs; r += 1) {
    const start = Date.now();
    const { run } = await mlflow(server, 'runs/create', {
      experiment_id: experimentId,
      run_name: `${name}-${r + 1}`,
      start_time: start,
    });
    const runId = run.info.run_id;
    const lr = 10 ** -(r + 2);
    const metrics = [];
    for (let step = 0; step < steps; step += 1) {
      const loss = 2 * Math.exp(-step / (40 + 10 * r)) + 0.05;
      metrics.push({ key: 'loss', value: loss, timestamp: start + step, step });
      metrics.push({ key: 'accuracy', value: 1 - loss / 2.1, timestamp: start + step, step });
    }
    for (let i = 0; i < metrics.length; i += 1000) {
      await mlflow(server, 'runs/log-batch', {
        run_id: runId,
        metrics: metrics.slice(i, i + 1000),
        params: i === 0 ? [{ key: 'lr', value: String(lr) }] : [],
      });
    }
    await mlflow(server, 'runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
    ids.push(runId);
  }
  return ids;
}
