// Injected into the page before the app loads (live_updates.mjs): records,
// for every live event, the server's timestamp in it, when the browser
// received it, and when the DOM first changed because of it; plus every
// long task. Read back as `window.__liveProbe`.
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const probe = {
    measuring: false,
    // kind -> [{ serverMs, receivedMs, domMs }]
    samples: { device: [], job: [], log: [] },
    // Events still waiting for their DOM change.
    pendingDevice: new Map(),
    pendingJob: new Map(),
    pendingLog: [],
    jobStatus: new Map(),
    longTasks: [],
    unmatchedAtEnd: 0,
  };
  window.__liveProbe = probe;

  const record = (kind, serverMs) => ({ kind, serverMs, receivedMs: now(), domMs: null });

  // A job event carries the time of the change it reports: creation, start
  // or end. Only status changes are counted (other job events, such as a
  // priority change, carry no time of their own).
  const jobChangeMs = (job) => {
    switch (job.status) {
      case 'queued': return job.created_ms;
      case 'running': return job.started_ms;
      default: return job.finished_ms;
    }
  };

  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(url, options) {
      super(url, options);
      this.addEventListener('device', (e) => {
        if (!probe.measuring) return;
        const { host } = JSON.parse(e.data);
        probe.pendingDevice.set(host.host_id, record('device', host.last_seen_ms));
      });
      this.addEventListener('job', (e) => {
        const { job } = JSON.parse(e.data);
        const before = probe.jobStatus.get(job.id);
        probe.jobStatus.set(job.id, job.status);
        if (!probe.measuring || before === job.status) return;
        const at = jobChangeMs(job);
        if (at) probe.pendingJob.set(`${job.id}:${job.status}`, record('job', at));
      });
      this.addEventListener('log', (e) => {
        if (!probe.measuring) return;
        const { server_ms: serverMs } = JSON.parse(e.data);
        if (serverMs) probe.pendingLog.push(record('log', serverMs));
      });
    }
  };

  const settle = (sample) => {
    sample.domMs = now();
    probe.samples[sample.kind].push(sample);
  };

  const observer = new MutationObserver((mutations) => {
    for (const m of mutations) {
      const element = m.target.nodeType === Node.ELEMENT_NODE ? m.target : m.target.parentElement;
      if (!element) continue;
      const host = element.closest('[data-host-id]');
      // "last seen 3 s ago" ticks by itself; it is not an update.
      if (host && !element.closest('[data-testid=last-seen]')) {
        const pending = probe.pendingDevice.get(host.dataset.hostId);
        if (pending) {
          probe.pendingDevice.delete(host.dataset.hostId);
          settle(pending);
        }
      }
      if (m.type === 'attributes' && m.attributeName === 'data-status' && element.dataset.jobId) {
        const key = `${element.dataset.jobId}:${element.dataset.status}`;
        const pending = probe.pendingJob.get(key);
        if (pending) {
          probe.pendingJob.delete(key);
          settle(pending);
        }
      }
      if (probe.pendingLog.length > 0 && element.closest('[data-testid=job-log]')) {
        for (const pending of probe.pendingLog.splice(0)) settle(pending);
      }
    }
  });
  const start = () => observer.observe(document.documentElement, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
  if (document.documentElement) start();
  else document.addEventListener('DOMContentLoaded', start);

  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (probe.measuring) probe.longTasks.push({ start: entry.startTime, duration: entry.duration });
    }
  }).observe({ type: 'longtask', buffered: false });

  probe.finish = () => {
    probe.measuring = false;
    probe.unmatchedAtEnd = probe.pendingDevice.size + probe.pendingJob.size + probe.pendingLog.length;
    return {
      samples: probe.samples,
      unmatched: probe.unmatchedAtEnd,
      longTasks: probe.longTasks,
    };
  };
})();
