#!/usr/bin/python3
"""Start docker/compose.yml's controllers and brokers (with an override file
such as compose.secure.yml merged over it) as local processes: the settings
each container gets (its STRATA_* environment, which the binaries read
themselves, strata-node's role and /data default, its command's
arguments), with only what a container has to itself mapped onto this
machine: every address onto 127.0.0.1 with a port of its own (voters,
controller lists, listeners, advertised addresses), /data onto a folder
each, /secure onto a local folder. No Docker is needed (this machine has
no daemon): it checks the compose files' settings against the binaries,
not Docker's networking.

  compose_local.py BUILD DIR BASE_PORT compose.yml [override.yml]

Prints "bootstrap HOST:PORT controller HOST:PORT" (broker 1's, controller
1's) and writes the PIDs it started to DIR/pids."""
import os
import re
import subprocess
import sys

import yaml


def interpolate(v):
    """Compose's ${VAR:-default} / ${VAR} and $$ (a literal $)."""
    if isinstance(v, dict):
        return {k: interpolate(x) for k, x in v.items()}
    if isinstance(v, list):
        return [interpolate(x) for x in v]
    if not isinstance(v, str):
        return v
    v = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: os.environ.get(m.group(1)) or m.group(2) or "", v)
    return re.sub(r"\$\$", "$", v)


def merge(a, b):
    """An override file over the base: mappings merged, the rest replaced."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(a[k], v) if k in a else v
        return out
    return b


def main():
    build, tmp, base = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = {}
    for f in sys.argv[4:]:
        cfg = merge(cfg, yaml.safe_load(open(f)))
    cfg = interpolate(cfg)
    prefix = os.environ.get("STRATA_NET_PREFIX") or "172.28.13"
    ctl = lambda k: "127.0.0.1:%d" % (base + int(k))       # controller K's 9093
    brk = lambda k: "127.0.0.1:%d" % (base + 10 + int(k))  # broker K's 9092
    kaf = lambda k: "127.0.0.1:%d" % (base + 20 + int(k))  # broker K's Kafka port
    adm = lambda i: "127.0.0.1:%d" % (base + 30 + i)       # each node's admin port
    procs = []
    for i, (name, s) in enumerate(sorted(cfg["services"].items())):
        if s.get("profiles") or not (name.startswith("controller") or name.startswith("broker")):
            continue
        env = {k: str(v) for k, v in (s.get("environment") or {}).items()}
        role = env.get("STRATA_ROLE", "broker")
        k = name.split("-")[1]
        for key, val in list(env.items()):
            val = re.sub(re.escape(prefix) + r"\.20(\d):9093", lambda m: ctl(m.group(1)), val)
            val = re.sub(r"broker-(\d):9092", lambda m: brk(m.group(1)), val)
            if role == "controller":
                val = val.replace("0.0.0.0:9093", ctl(k))
            else:
                val = val.replace("0.0.0.0:9092", brk(k))
                val = re.sub(r"(0\.0\.0\.0|127\.0\.0\.1):1909\d", kaf(k), val)
            env[key] = val.replace("0.0.0.0:9644", adm(i)).replace("/secure/", tmp + "/secure/")
        data = os.path.join(tmp, name)
        os.makedirs(data, exist_ok=True)
        env.setdefault("STRATA_DATA_DIR" if role == "controller" else "STRATA_LOG_DIR", data)
        prog = os.path.join(build, "strata-controller" if role == "controller" else "strata-broker")
        args = [prog] + [a.replace("/secure/", tmp + "/secure/") for a in (s.get("command") or [])]
        log = open(os.path.join(tmp, name + ".log"), "w")
        procs.append(subprocess.Popen(args, env={"PATH": os.environ["PATH"], **env},
                                      stdout=log, stderr=log, stdin=subprocess.DEVNULL))
    with open(os.path.join(tmp, "pids"), "w") as f:
        f.write(" ".join(str(p.pid) for p in procs) + "\n")
    print("bootstrap %s controller %s started %d" % (brk(1), ctl(1), len(procs)), flush=True)


main()
