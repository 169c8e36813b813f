"""Owns: a Debian 12 container with systemd as PID 1 for the integration
tests (tests/integration/test_container.py): the cached root tree, the
copy-on-write root of one run, booting it under systemd-nspawn, running
commands inside it, and powering it off.

* The tree: `debootstrap --variant=minbase --include=PACKAGES bookworm`,
  made once and cached in $IOCD_TEST_CACHE, else
  ${XDG_CACHE_HOME:-$HOME/.cache}/iocd-test/, in a folder named after a hash
  of the suite, the mirror and the package list (bookworm-HASH; its file
  `packages` lists them). PACKAGES are systemd, systemd-sysv, dbus,
  mosquitto, mosquitto-clients, curl and procps (the unit's ExecReload runs
  /bin/kill), plus the Debian packages of every shared library iocd, iocctl
  and iocd-sim link to (ldd, then dpkg -S): a new library gives a new tree.
  A tree is built in a temporary folder and renamed when complete, under a
  lock, so an interrupted bootstrap leaves nothing half made. Clear the
  cache with `rm -rf ~/.cache/iocd-test` (as the user who ran the tests).
* A run never writes into the cache: the root is an overlayfs (the cached
  tree below, a temporary folder above), or a copy where overlayfs cannot
  be mounted. iocd goes in with `meson install --destdir` of the build
  under test, then the tree boots with
  `systemd-nspawn --boot --register=no --keep-unit --console=pipe
  --private-network`: its own loopback (a broker on 1883 inside collides
  with nothing), the host's kernel, no machined needed.
* Commands run inside through `nsenter -t LEADER -a` (the container's PID
  1), with a clean environment.

Everything started here is stopped by the PID started: nspawn gets SIGTERM
(the container powers off), SIGKILL after 30 s."""
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

SUITE = "bookworm"
MIRROR = os.environ.get("IOCD_TEST_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "mosquitto", "mosquitto-clients", "curl",
                 "procps"]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Unavailable(Exception):
    """The environment cannot run a container: the test skips (77)."""


def cache_root():
    if os.environ.get("IOCD_TEST_CACHE"):
        return os.environ["IOCD_TEST_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "iocd-test")


def library_packages(binaries):
    """The Debian packages holding the shared libraries the binaries load."""
    libs = set()
    for b in binaries:
        out = subprocess.run(["ldd", b], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split("=>")
            if len(parts) == 2 and parts[1].strip().startswith("/"):
                libs.add(parts[1].split()[0])
    paths = sorted(libs | {os.path.realpath(l) for l in libs})
    r = subprocess.run(["dpkg-query", "-S"] + paths, capture_output=True, text=True)
    owner = {}
    for line in r.stdout.splitlines():
        names, _, path = line.partition(": ")
        owner[path] = names.split(",")[0].split(":")[0].strip()
    pkgs = set()
    for lib in sorted(libs):
        pkg = owner.get(lib) or owner.get(os.path.realpath(lib))
        if not pkg:
            raise AssertionError("no Debian package holds %s (needed by %s)" % (lib, binaries))
        pkgs.add(pkg)
    return sorted(pkgs)


def cached_tree(packages, log):
    """The cached tree for these packages, bootstrapped if missing."""
    pkgs = sorted(set(packages))
    key = hashlib.sha256(("%s minbase %s %s" % (SUITE, MIRROR, " ".join(pkgs))).encode())
    root = cache_root()
    tree = os.path.join(root, "%s-%s" % (SUITE, key.hexdigest()[:12]))
    if os.path.isfile(os.path.join(tree, "packages")):
        return tree, False
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isfile(os.path.join(tree, "packages")):
            return tree, False
        work = tempfile.mkdtemp(prefix=".bootstrap-", dir=root)
        try:
            with open(log, "ab") as f:
                r = subprocess.run(["debootstrap", "--variant=minbase",
                                    "--include=" + ",".join(pkgs), SUITE,
                                    os.path.join(work, "tree"), MIRROR],
                                   stdout=f, stderr=subprocess.STDOUT, timeout=1800)
            if r.returncode != 0:
                with open(log, errors="replace") as f:
                    tail = f.read()[-1500:]
                raise Unavailable("debootstrap of %s from %s failed (%d):\n%s"
                                  % (SUITE, MIRROR, r.returncode, tail))
            with open(os.path.join(work, "tree", "packages"), "w") as f:
                f.write("\n".join(pkgs) + "\n")
            os.rename(os.path.join(work, "tree"), tree)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return tree, True


class Container:
    """One booted container; see the module comment."""

    def __init__(self, tree, workdir):
        self.tree = tree
        self.dir = workdir
        self.root = os.path.join(workdir, "root")
        self.log = os.path.join(workdir, "nspawn.log")
        self.overlay = False
        self.proc = None
        self.leader = None
        self.name = "iocd-test-%d" % os.getpid()

    # --- the root of this run ---

    def make_root(self):
        upper, work = os.path.join(self.dir, "upper"), os.path.join(self.dir, "work")
        for d in (self.root, upper, work):
            os.makedirs(d)
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            "lowerdir=%s,upperdir=%s,workdir=%s" % (self.tree, upper, work),
                            self.root], capture_output=True, text=True)
        if r.returncode == 0:
            self.overlay = True
        else:
            subprocess.run(["cp", "-a", "--reflink=auto", self.tree + "/.", self.root],
                           check=True, timeout=600)

    def install_build(self, build_root):
        """`meson install --destdir` of the build under test, into the root."""
        stage = os.path.join(self.dir, "stage")
        r = subprocess.run(["meson", "install", "-C", build_root, "--destdir", stage,
                            "--no-rebuild", "--quiet"], capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0:
            raise AssertionError("meson install failed:\n" + r.stdout + r.stderr)
        tar = subprocess.Popen(["tar", "-C", stage, "-cf", "-", "."], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-C", self.root, "-xf", "-", "--keep-directory-symlink"],
                       stdin=tar.stdout, check=True, timeout=120)
        tar.stdout.close()
        if tar.wait(60) != 0:
            raise AssertionError("tar of %s failed" % stage)

    def write(self, path, text, mode=0o644):
        """A file of the root, written before boot (or below /etc after)."""
        full = os.path.join(self.root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        os.chmod(full, mode)

    # --- boot and power off ---

    def boot(self, timeout=120):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "-q", "-D", self.root, "--boot", "--register=no",
             "--keep-unit", "--console=pipe", "--private-network", "--machine=" + self.name],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + timeout
        while self.leader is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise Unavailable("systemd-nspawn did not boot the container (exit %s):\n%s"
                                  % (self.proc.poll(), self.log_tail()))
            self.leader = self._find_leader()
            time.sleep(0.1)
        while True:
            left = deadline - time.monotonic()
            r = self.run(["systemctl", "is-system-running", "--wait"], check=False,
                         timeout=max(left, 1))
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                return state
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise Unavailable("systemd in the container did not finish booting (%r):\n%s"
                                  % (state, self.log_tail()))
            time.sleep(0.2)

    def _find_leader(self):
        """The container's PID 1 (systemd), a child of nspawn."""
        try:
            tasks = os.listdir("/proc/%d/task" % self.proc.pid)
        except OSError:
            return None
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (self.proc.pid, t)) as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                continue
            for k in kids:
                try:
                    with open("/proc/%d/comm" % k) as f:
                        if f.read().strip() == "systemd":
                            return k
                except OSError:
                    pass
        return None

    def log_tail(self, n=3000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def poweroff(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def destroy(self):
        self.poweroff()
        if self.overlay:
            r = subprocess.run(["umount", self.root], capture_output=True)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", self.root], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- inside ---

    def argv(self, argv):
        # --root, --wd: where nspawn cannot pivot_root (in a chroot) the
        # container's root is a chroot inside its mount namespace.
        return (["nsenter", "-t", str(self.leader), "-a", "--root", "--wd", "env", "-i",
                 "PATH=" + PATH,
                 "LANG=C.UTF-8", "SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0", "TERM=dumb"]
                + list(argv))

    def run(self, argv, input=None, timeout=60, check=True):
        r = subprocess.run(self.argv(argv), input=input, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("in the container, %s exited %d:\n%s%s"
                                 % (" ".join(argv), r.returncode, r.stdout, r.stderr))
        return r

    def popen(self, argv, **kw):
        return subprocess.Popen(self.argv(argv), **kw)
