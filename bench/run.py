#!/usr/bin/env python3
"""Side-by-side benchmarks in one run; prints medians and ratios (sgk / other).

Usage: bench/run.py SGK_BINARY [--peers STATE_DIR]
With --peers, also the AWS and Kubernetes comparisons against the moto and
kube-apiserver whose state is in STATE_DIR/moto and STATE_DIR/kube.
"""
import os, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
INSTALLER = os.path.join(ROOT, "..", "shared", "fixtures", "sagemaker-operator", "installer.yaml")


def timed(cmd, env=None, repeat=5, check=True):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        times.append(time.perf_counter() - t)
        if check and r.returncode != 0:
            raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{r.stderr.decode()[-800:]}")
    return statistics.median(times)


def repl_startup(sgk, repeat=10):
    """Median time from spawning `sgk` on a pseudo-terminal to its first prompt."""
    import pty, select, signal
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["SGK_HISTORY"] = "/dev/null"
            os.execv(sgk, [sgk])
        buf = b""
        deadline = time.time() + 10
        while b"sgk> " not in buf and time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    buf += os.read(fd, 4096)
                except OSError:
                    break
        times.append(time.perf_counter() - t)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return statistics.median(times)


def row(name, sgk, others, goal=""):
    cells = [f"{name:<34}", f"sgk {sgk * 1000:9.1f} ms"]
    for label, t in others:
        if t is None:
            cells.append(f"{label} n/a".ljust(28))
        else:
            cells.append(f"{label} {t * 1000:9.1f} ms ({sgk / t:5.2f}×)")
    if goal:
        cells.append(goal)
    print("  ".join(cells), flush=True)


def main():
    sgk = sys.argv[1]
    peers = sys.argv[sys.argv.index("--peers") + 1] if "--peers" in sys.argv else None
    tclsh = shutil.which("tclsh")
    kubectl = shutil.which("kubectl")
    print("ratios are sgk time / other time (lower is better for sgk)\n")

    s = timed([sgk, "-c", "print 1"], repeat=20)
    k = timed([kubectl, "version", "--client"], repeat=20) if kubectl else None
    row("start-up: sgk -c 'print 1'", s, [("kubectl version --client", k)], "goal ≤ 0.2×")
    r = repl_startup(sgk)
    print(f"{'REPL start-up to its first prompt':<34}  sgk {r * 1000:9.1f} ms  goal < 50 ms", flush=True)

    for name, goal in [("fib", "fib(25)"), ("loop", "10^6 arithmetic loop"), ("collections", "10^5 list + 10^5 map"),
                       ("strings", "10^5 string appends")]:
        s = timed([sgk, "run", os.path.join(HERE, name + ".sgk")])
        p = timed([sys.executable, os.path.join(HERE, name + ".py")])
        t = timed([tclsh, os.path.join(HERE, name + ".tcl")]) if tclsh else None
        row(goal, s, [("python3", p), ("tclsh", t)], "goal ≤ 1.0× python3")
    if os.path.exists(INSTALLER):
        s = timed([sgk, "run", os.path.join(HERE, "yaml.sgk"), "--file", INSTALLER])
        p = timed([sys.executable, os.path.join(HERE, "yaml_parse.py"), INSTALLER])
        row("parse installer.yaml ×100", s, [("python3+PyYAML", p), ("tclsh", None)], "goal ≤ 1.0× python3")

    if not peers:
        return
    env = dict(os.environ)
    env.update({"AWS_ENDPOINT_URL": open(os.path.join(peers, "moto", "moto.url")).read().strip(),
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-west-2",
                "AWS_DEFAULT_REGION": "us-west-2", "AWS_EC2_METADATA_DISABLED": "true",
                "KUBECONFIG": os.path.join(peers, "kube", "kubeconfig")})
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    subprocess.run(["aws", "iam", "create-role", "--role-name", "bench-role", "--assume-role-policy-document", trust],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = timed([sgk, "-c", "for i in 1..50 { role get bench-role }"], env=env, repeat=3)
    t = time.perf_counter()
    for _ in range(50):
        subprocess.run(["aws", "iam", "get-role", "--role-name", "bench-role"], env=env, stdout=subprocess.DEVNULL, check=True)
    a = time.perf_counter() - t
    row("50 × role get (one sgk script)", s, [("50 × aws iam get-role", a)], "goal ≤ 0.05× (≥ 20× faster)")
    # Requests per second on one kept-alive connection: sgk against boto3 in one
    # process (the best a client gets from this moto), 300 GetRole each.
    t = time.perf_counter()
    subprocess.run([sgk, "-c", "for i in 1..300 { role get bench-role }"], env=env, stdout=subprocess.DEVNULL, check=True)
    sgk_rps = 300 / (time.perf_counter() - t)
    code = ("import boto3,time,os;c=boto3.client('iam',endpoint_url=os.environ['AWS_ENDPOINT_URL']);c.get_role(RoleName='bench-role');"
            "t=time.perf_counter();[c.get_role(RoleName='bench-role') for _ in range(300)];print(300/(time.perf_counter()-t))")
    boto_rps = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
    print(f"{'GetRole requests/s, one connection':<34}  sgk {sgk_rps:9.0f} /s  boto3 {boto_rps:9.0f} /s (moto's rate for one client)", flush=True)

    if os.path.exists(INSTALLER):
        def fresh(ns_cmd):
            subprocess.run([kubectl, "delete", "-f", INSTALLER, "--ignore-not-found", "--wait=true"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fresh(None)
        t = time.perf_counter()
        subprocess.run([sgk, "-c", f"kubectl apply -f \"{INSTALLER}\""], env=env, stdout=subprocess.DEVNULL, check=True)
        s1 = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([sgk, "-c", f"kubectl apply -f \"{INSTALLER}\""], env=env, stdout=subprocess.DEVNULL, check=True)
        s2 = time.perf_counter() - t
        fresh(None)
        t = time.perf_counter()
        subprocess.run([kubectl, "apply", "-f", INSTALLER], env=env, stdout=subprocess.DEVNULL, check=True)
        k1 = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([kubectl, "apply", "-f", INSTALLER], env=env, stdout=subprocess.DEVNULL, check=True)
        k2 = time.perf_counter() - t
        row("apply installer (18 objects), fresh", s1, [("kubectl apply -f", k1)], "goal ≤ 0.2× (≥ 5× faster)")
        row("apply installer again (unchanged)", s2, [("kubectl apply -f", k2)])
        fresh(None)


if __name__ == "__main__":
    main()
