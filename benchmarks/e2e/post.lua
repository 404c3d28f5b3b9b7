-- wrk script of the end-to-end benchmark: POST a small JSON body to /rows/ on every request
-- (after a pause, when E2E_PAUSE_MS is set); at the end print one line, "E2E-RESULT {json}",
-- with the figures benchmarks/e2e/run.py reads.
wrk.method = "POST"
wrk.path = "/rows/"
wrk.body = '{"note": "bench"}'
wrk.headers["Content-Type"] = "application/json"

-- E2E_PAUSE_MS: milliseconds each connection waits between an answer and its next request
-- (a paced load); unset or 0, it sends the next request at once (the server is saturated).
local pause_ms = tonumber(os.getenv("E2E_PAUSE_MS") or "0")
if pause_ms > 0 then
  delay = function()
    return pause_ms
  end
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'E2E-RESULT {"requests": %.0f, "duration_us": %.0f, "p50_us": %.0f, "p90_us": %.0f, '
      .. '"p99_us": %.0f, "max_us": %.0f, "mean_us": %.1f, "connect_errors": %.0f, '
      .. '"read_errors": %.0f, "write_errors": %.0f, "non_2xx": %.0f, "timeouts": %.0f}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout))
end
