#!/usr/bin/env python3
"""Cold start and memory of the DataOptix window, beside a minimal Tauri window (issue #5).

`scripts/bench.sh app` builds both release binaries and runs this inside
`xvfb-run ... dbus-run-session`, so that each launch has an X display and a D-Bus session bus;
this script starts an unlocked gnome-keyring on that bus (the app keeps its key there, as on a
desktop) in a throwaway HOME, then launches, alternately and N times each:

- `app-first-run`: DataOptix with a new, empty data directory (it creates its vault, its key in
  the keyring and its encrypted store, then shows sign-up / sign-in);
- `app-restart`: DataOptix over the data directory an earlier launch created (a returning user
  who is not signed in: the vault is opened with the keyring's key);
- `app-inbox` (with `--relay`, `--cli` and `--fill`): DataOptix signed in over a store of
  `--messages` messages (default 1,000,000) in `--conversations` conversations: a relay is
  started, `dataoptix-cli register` signs a data directory in against it, and the
  `fill_history` example fills that store (crates/core/examples/fill_history.rs); the app then
  opens straight into the inbox, which reports itself once its first page of conversations is
  painted, while it connects to the (running) relay as on any start;
- `baseline`: tests/bench-window, a Tauri window with a static page.

Cold start is the time from spawning the process to the line "first screen painted:" on its
standard output: the UI reports its first screen after the frame that draws it (ui/src/lib/
startup/firstPaint.ts), and the shell logs it (`commands::first_screen_painted`); the
baseline's page reports the same way. Memory is PSS (proportional set size: shared pages
divided among the processes sharing them) summed over the process and all its descendants
(WebKit's web and network processes), read from /proc/<pid>/smaps_rollup after the window
has been idle for a moment. Results go to <out>/app.json.
"""

import argparse
import base64
import json
import math
import os
import queue
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

READY = "first screen painted:"
KEYRING_PASSWORD = "bench-keyring-password"


def descendants(pid):
    """`pid` and every process below it, from /proc's parent links."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # it exited while we looked
        # The command name may contain spaces and parentheses: fields follow the last ')'.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def pss_kib(pid):
    """The process's PSS in KiB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def name_of(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def stop_tree(proc):
    """Ends the launched process and its descendants (ours only, by pid)."""
    tree = descendants(proc.pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in tree:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            continue
        # WebKit's helpers exit with their parent; give them a moment, then make sure.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in tree[1:]):
            time.sleep(0.05)
        if sig == signal.SIGTERM and not any(os.path.exists(f"/proc/{p}") for p in tree[1:]):
            return


def launch(binary, env, log_path, settle_s, timeout_s):
    """One cold start: seconds to the first paint, the app's own figure, and PSS after idling."""
    log = open(log_path, "ab")
    lines = queue.Queue()
    started = time.monotonic()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=log,
                            stdin=subprocess.DEVNULL)

    def pump():
        for raw in proc.stdout:
            log.write(raw)
            log.flush()
            lines.put((time.monotonic(), raw.decode("utf-8", "replace")))

    threading.Thread(target=pump, daemon=True).start()
    try:
        ready_at, reported_ms, steps = None, None, None
        deadline = started + timeout_s
        while ready_at is None:
            try:
                at, line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"{binary} showed no first paint within {timeout_s} s "
                                   f"(exit status {proc.poll()}); see {log_path}")
            if READY in line:
                ready_at = at
                words = line.split(READY, 1)[1].split()
                if len(words) >= 2 and words[1].isdigit():
                    reported_ms = int(words[1])
                screen = words[0] if words else "?"
                # The app adds its start-up steps: "(setup 80 ms, data open 310 ms, ...)".
                if "(" in line:
                    steps = line.split("(", 1)[1].rsplit(")", 1)[0]
        time.sleep(settle_s)
        if proc.poll() is not None:
            raise RuntimeError(f"{binary} exited while idle (status {proc.returncode}); see {log_path}")
        tree = descendants(proc.pid)
        per_process = [(name_of(p), pss_kib(p)) for p in tree]
        per_process = [(n, k) for n, k in per_process if k is not None]
        return {
            "cold_start_ms": (ready_at - started) * 1000,
            "reported_ms": reported_ms,
            "screen": screen,
            "steps": steps,
            "pss_mib": sum(k for _, k in per_process) / 1024,
            "processes": [{"name": n, "pss_mib": round(k / 1024, 1)} for n, k in per_process],
        }
    finally:
        stop_tree(proc)
        log.close()


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def start_keyring(env, logs):
    """An unlocked gnome-keyring on this D-Bus session, checked with secret-tool."""
    log = open(os.path.join(logs, "gnome-keyring.log"), "wb")
    daemon = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock",
                               "--components=secrets"], env=env, stdin=subprocess.PIPE,
                              stdout=log, stderr=log)
    daemon.stdin.write(KEYRING_PASSWORD.encode())
    daemon.stdin.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError("gnome-keyring-daemon exited; see gnome-keyring.log")
        # Probe only once our daemon owns the name: an earlier probe would let D-Bus start
        # another daemon of its own.
        owner = subprocess.run(["dbus-send", "--session", "--print-reply",
                                "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus.NameHasOwner",
                                "string:org.freedesktop.secrets"],
                               env=env, capture_output=True, text=True)
        if "boolean true" in owner.stdout:
            stored = subprocess.run(["secret-tool", "store", "--label=bench probe", "probe", "bench"],
                                    env=env, input="ok", capture_output=True, text=True)
            looked = subprocess.run(["secret-tool", "lookup", "probe", "bench"], env=env,
                                    capture_output=True, text=True)
            if stored.returncode == 0 and looked.stdout == "ok":
                return daemon
        time.sleep(0.2)
    daemon.kill()
    raise RuntimeError("the keyring did not come up unlocked within 20 s")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_relay(relay_bin, home, env, logs):
    """A relay on a loopback port with throwaway secrets; returns (process, URL).

    The port and secrets are kept in `home` so that a kept home (`--home`) finds its relay
    where its signed-in device expects it. Nothing in this benchmark talks to Meta: the Graph
    API URL points at a closed port."""
    saved = os.path.join(home, "relay.json")
    if os.path.exists(saved):
        with open(saved) as f:
            port, secret, key = json.load(f)
    else:
        port, secret, key = (free_port(), secrets.token_hex(16),
                             base64.b64encode(secrets.token_bytes(32)).decode())
        with open(saved, "w") as f:
            json.dump([port, secret, key], f)
    relay_env = dict(env)
    relay_env.update({
        "DATAOPTIX_RELAY_LISTEN": f"127.0.0.1:{port}",
        "DATAOPTIX_RELAY_PUBLIC_ORIGIN": f"http://127.0.0.1:{port}",
        "DATAOPTIX_RELAY_DATA_DIR": os.path.join(home, "relay"),
        "DATAOPTIX_RELAY_META_APP_ID": "4242424242424242",
        "DATAOPTIX_RELAY_META_APP_SECRET": secret,
        "DATAOPTIX_RELAY_META_CONFIG_ID": "bench",
        "DATAOPTIX_RELAY_META_VERIFY_TOKEN": secrets.token_hex(8),
        "DATAOPTIX_RELAY_ENCRYPTION_KEY": key,
        "DATAOPTIX_RELAY_GRAPH_BASE_URL": f"http://127.0.0.1:{free_port()}",
    })
    log = open(os.path.join(logs, "relay.log"), "wb")
    relay = subprocess.Popen([relay_bin, "serve"], env=relay_env, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if relay.poll() is not None:
            raise RuntimeError("the relay exited; see relay.log")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return relay, url
        except OSError:
            time.sleep(0.1)
    relay.kill()
    raise RuntimeError("the relay did not answer /healthz within 30 s; see relay.log")


def signed_in_history(args, data_dir, relay_url, env, logs):
    """Registers a workspace in `data_dir` (keyring vault) and fills its store, unless a kept
    home (`--home`) already holds one of this size."""
    done = os.path.join(data_dir, f"filled-{args.messages}-{args.conversations}")
    if os.path.exists(done):
        print(f"  reusing the filled store in {data_dir}", flush=True)
        return
    run_env = dict(env)
    run_env["DATAOPTIX_DATA_DIR"] = data_dir
    with open(os.path.join(logs, "setup.log"), "ab") as log:
        subprocess.run([args.cli, "register", "--relay", relay_url, "--name", "Bench Owner",
                        "--email", "owner@bench.example", "--company", "Bench Bakery"],
                       env=run_env, input=secrets.token_urlsafe(18).encode(), stdout=log,
                       stderr=log, check=True)
        started = time.monotonic()
        subprocess.run([args.fill, "--data-dir", data_dir, "--messages", str(args.messages),
                        "--conversations", str(args.conversations)],
                       env=run_env, stdout=log, stderr=log, check=True)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(data_dir) for f in fs)
    print(f"  generated {args.messages:,} messages in {args.conversations:,} conversations in "
          f"{time.monotonic() - started:.0f} s ({size / 2**20:,.0f} MiB data directory)", flush=True)
    open(done, "w").close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--app", required=True)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--launches", type=int, default=int(os.environ.get("DATAOPTIX_BENCH_LAUNCHES", "10")))
    parser.add_argument("--settle", type=float, default=3.0, help="idle seconds before PSS is read")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--relay", help="dataoptix-relay binary (with --cli and --fill: app-inbox)")
    parser.add_argument("--cli", help="dataoptix-cli binary")
    parser.add_argument("--fill", help="the fill_history example binary")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--home", help="keep the throwaway HOME here and reuse it (its keyring, "
                        "relay and filled store) on the next run, to iterate without refilling")
    parser.add_argument("--only", help="comma-separated kinds to launch (the baseline always runs)")
    args = parser.parse_args()
    inbox = bool(args.relay and args.cli and args.fill)
    if not inbox and (args.relay or args.cli or args.fill):
        sys.exit("app-inbox needs all of --relay, --cli and --fill")
    for var in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        if not os.environ.get(var):
            sys.exit(f"{var} is not set: run this through scripts/bench.sh app "
                     "(xvfb-run and dbus-run-session)")

    if args.home:
        home = os.path.abspath(args.home)
        os.makedirs(home, exist_ok=True)
    else:
        home = tempfile.mkdtemp(prefix="dataoptix-bench-app-")
    logs = os.path.join(args.out, "app-logs")
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env.update({
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_DATA_HOME": os.path.join(home, ".local/share"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        # As in the end-to-end tests: Xvfb has no GPU.
        "LIBGL_ALWAYS_SOFTWARE": "1",
        "WEBKIT_DISABLE_COMPOSITING_MODE": "1",
        "NO_AT_BRIDGE": "1",
    })
    env.pop("DATAOPTIX_PASSPHRASE", None)
    keyring = start_keyring(env, logs)
    relay = None
    try:
        kinds = {
            "app-first-run": (args.app, lambda i: os.path.join(home, f"data-fresh-{i}")),
            "app-restart": (args.app, lambda i: os.path.join(home, "data-returning")),
        }
        if inbox:
            relay, relay_url = start_relay(args.relay, home, env, logs)
            signed_in_history(args, os.path.join(home, "data-inbox"), relay_url, env, logs)
            kinds["app-inbox"] = (args.app, lambda i: os.path.join(home, "data-inbox"))
        if args.only:
            wanted = set(args.only.split(","))
            kinds = {k: v for k, v in kinds.items() if k in wanted}
        kinds["baseline"] = (args.baseline, None)
        # One untimed launch each, so that every timed one finds the binaries and libraries in
        # the page cache (a process cold start, not a disk cold start), and the returning
        # user's data exists.
        runs = {kind: [] for kind in kinds}
        for i in range(-1, args.launches):
            for kind, (binary, data_dir) in kinds.items():
                run_env = dict(env)
                if data_dir is not None:
                    run_env["DATAOPTIX_DATA_DIR"] = data_dir(i)
                    if kind == "app-first-run":  # new, even in a kept home
                        shutil.rmtree(data_dir(i), ignore_errors=True)
                result = launch(binary, run_env, os.path.join(logs, f"{kind}.log"), args.settle,
                                args.timeout)
                if kind == "app-inbox" and result["screen"] != "Inbox":
                    raise RuntimeError(f"app-inbox painted {result['screen']}, not the inbox; "
                                       f"see {os.path.join(logs, 'app-inbox.log')}")
                if i >= 0:
                    runs[kind].append(result)
                    print(f"  {kind:14} #{i + 1:<2} {result['cold_start_ms']:7.0f} ms "
                          f"({result['screen']}), PSS {result['pss_mib']:6.1f} MiB over "
                          f"{len(result['processes'])} processes", flush=True)
    finally:
        if relay is not None:
            relay.terminate()
            relay.wait(timeout=10)
        keyring.terminate()
        keyring.wait(timeout=10)
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)

    summary = {"launches": args.launches, "settle_s": args.settle}
    if inbox:
        summary["inbox_store"] = {"messages": args.messages, "conversations": args.conversations}
    for kind, results in runs.items():
        starts = [r["cold_start_ms"] for r in results]
        pss = [r["pss_mib"] for r in results]
        summary[kind] = {
            "cold_start_p50_ms": percentile(starts, 50),
            "cold_start_p95_ms": percentile(starts, 95),
            "reported_p50_ms": percentile([r["reported_ms"] or 0 for r in results], 50),
            "pss_median_mib": statistics.median(pss),
            "pss_max_mib": max(pss),
            "screen": results[-1]["screen"],
            "processes": results[-1]["processes"],
            "runs": results,
        }
    base = summary["baseline"]
    app_kinds = [k for k in runs if k != "baseline"]
    for kind in app_kinds:
        s = summary[kind]
        s["cold_start_ratio"] = s["cold_start_p50_ms"] / base["cold_start_p50_ms"]
        s["pss_ratio"] = s["pss_median_mib"] / base["pss_median_mib"]
    with open(os.path.join(args.out, "app.json"), "w") as f:
        json.dump(summary, f, indent=2)

    print()
    print(f"{'what':16} {'screen':10} {'start p50':>10} {'p95':>8} {'PSS median':>11} "
          f"{'processes':>9} {'vs baseline':>20}")
    for kind in app_kinds + ["baseline"]:
        s = summary[kind]
        ratio = (f"{s['cold_start_ratio']:.2f}x start, {s['pss_ratio']:.2f}x PSS"
                 if kind != "baseline" else "")
        print(f"{kind:16} {s['screen']:10} {s['cold_start_p50_ms']:8.0f}ms "
              f"{s['cold_start_p95_ms']:6.0f}ms {s['pss_median_mib']:7.1f} MiB "
              f"{len(s['processes']):>9} {ratio:>20}")


if __name__ == "__main__":
    main()
