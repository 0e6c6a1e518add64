package dev.nydus4j.snapshotter;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.nydus4j.fuse.ApiClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One nydusd process as the snapshotter knows it: its id, pid, API socket and FUSE mountpoint (SNAPSHOTTER.md 4).
 * Spawned with upstream's command line in {@code fuse} mode, in its own session so that it outlives a snapshotter
 * restart; readiness is {@code GET /api/v1/daemon} answering state RUNNING. Immutable record of a process that may
 * die at any time; the methods ask the OS and the daemon.
 */
@JsonAutoDetect(getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
record NydusdProcess(@JsonProperty("id") String id, @JsonProperty("pid") long pid,
                     @JsonProperty("api_socket") String apiSocket, @JsonProperty("mountpoint") String mountpoint) {
    private static final Logger LOG = LoggerFactory.getLogger(NydusdProcess.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Starts nydusd and waits until it is RUNNING.
     *
     * @param config    per-image config, or null for a shared daemon that waits for API mounts
     * @param bootstrap image to serve, or null for a shared daemon
     */
    static NydusdProcess spawn(SnapshotterConfig settings, Layout layout, String id, Path mountpoint, Path config,
                               Path bootstrap) throws IOException {
        return spawn(settings, layout, id, mountpoint, config, bootstrap, null, false);
    }

    /**
     * Starts nydusd; with {@code supervisor} it may save its FUSE session there ({@code --supervisor}); with
     * {@code upgrade} it mounts nothing, takes the session the supervisor is handing out over
     * ({@code PUT /api/v1/daemon/fuse/takeover}), is started ({@code PUT /api/v1/daemon/start}) and serves the
     * existing mount. Returns once it is RUNNING.
     */
    static NydusdProcess spawn(SnapshotterConfig settings, Layout layout, String id, Path mountpoint, Path config,
                               Path bootstrap, Path supervisor, boolean upgrade) throws IOException {
        Path api = layout.apiSocket(id);
        Path log = layout.daemonLog(id);
        Files.createDirectories(api.getParent());
        Files.createDirectories(log.getParent());
        if (!upgrade) {
            // (an upgrade must not touch the mountpoint: with no daemon serving it, a stat would wait for good)
            Files.createDirectories(mountpoint);
        }
        Files.deleteIfExists(api);
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid"); // own session: a signal to the snapshotter's process group spares nydusd
        }
        cmd.add(settings.nydusdPath());
        cmd.add("fuse");
        if (upgrade) {
            cmd.add("--upgrade");
        }
        if (config != null) {
            cmd.addAll(List.of("--config", config.toString(), "--bootstrap", bootstrap.toString()));
        }
        cmd.addAll(List.of("--mountpoint", mountpoint.toString(), "--apisock", api.toString(), "--id", id,
                "--log-level", settings.nydusdLogLevel(), "--log-file", log.toString()));
        if (settings.threads() > 0) {
            cmd.addAll(List.of("--thread-num", Integer.toString(settings.threads())));
        }
        if (supervisor != null) {
            cmd.addAll(List.of("--supervisor", supervisor.toString(), "--failover-policy", settings.failoverPolicy()));
        }
        Path out = log.resolveSibling("stdout.log");
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new IOException("cannot start nydusd '" + settings.nydusdPath() + "' (set --nydusd-path or"
                    + " daemon.nydusd_path): " + e.getMessage(), e);
        }
        NydusdProcess d = new NydusdProcess(id, p.pid(), api.toString(), mountpoint.toString());
        LOG.info("started nydusd {} (pid {}) on {}", id, p.pid(), mountpoint);
        try {
            if (upgrade) {
                d.takeOver(out);
            }
            d.awaitRunning(out);
        } catch (IOException e) {
            if (upgrade) {
                d.kill(); // the mount belongs to the session being taken over: never unmount it here
            } else {
                d.stop();
            }
            throw e;
        }
        return d;
    }

    /** {@code --upgrade}: waits for INIT, then takeover and start through the API. */
    private void takeOver(Path output) throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!(Files.exists(Path.of(apiSocket)) && "INIT".equals(state()))) {
            if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                throw new IOException("nydusd " + id + " exited during start-up; its output (" + output + "): "
                        + tail(output));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("nydusd " + id + " did not reach INIT in " + START_TIMEOUT.toSeconds()
                        + " s; its output (" + output + "): " + tail(output));
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for nydusd " + id);
            }
        }
        for (String call : List.of("/api/v1/daemon/fuse/takeover", "/api/v1/daemon/start")) {
            ApiClient.Response r = api().send("PUT", call, null);
            if (!r.isSuccess()) {
                throw new IOException("nydusd " + id + " refused PUT " + call + ": " + r.status() + " " + r.body());
            }
        }
    }

    /** SIGKILL without unmounting (a failover leaves the mount to the next daemon). */
    void kill() {
        ProcessHandle.of(pid).filter(h -> isAlive()).ifPresent(h -> {
            h.destroyForcibly();
            try {
                h.onExit().get(STOP_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.warn("nydusd {} (pid {}) did not exit after SIGKILL: {}", id, pid, e.toString());
            }
        });
        try {
            Files.deleteIfExists(Path.of(apiSocket));
        } catch (IOException ignored) {
            // the next daemon's API server replaces it
        }
    }

    ApiClient api() {
        return new ApiClient(Path.of(apiSocket), "containerd-nydus-grpc/nydus4j");
    }

    /** Whether the process lives and is the nydusd we started (its command line names our API socket). */
    boolean isAlive() {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty() || !h.get().isAlive()) {
            return false;
        }
        try {
            byte[] cmdline = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return new String(cmdline, StandardCharsets.UTF_8).contains(apiSocket);
        } catch (IOException e) {
            return false; // exited meanwhile
        }
    }

    /** The daemon's state from its API, or "UNKNOWN" when it does not answer. */
    String state() {
        try {
            ApiClient.Response r = api().send("GET", "/api/v1/daemon", null);
            if (!r.isSuccess()) {
                return "UNKNOWN";
            }
            return StateFile.JSON.readTree(r.body()).path("state").asText("UNKNOWN");
        } catch (IOException e) {
            return "UNKNOWN";
        }
    }

    /** Whether the daemon runs, answers RUNNING and its FUSE mountpoint is mounted. */
    boolean isHealthy() throws IOException {
        return isAlive() && "RUNNING".equals(state()) && HostMounts.isMountpoint(Path.of(mountpoint));
    }

    /** Stops the daemon (SIGTERM, then SIGKILL) and unmounts its mountpoint if the daemon left it mounted. */
    void stop() throws IOException {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isPresent() && isAlive()) {
            h.get().destroy();
            try {
                h.get().onExit().get(STOP_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                LOG.warn("nydusd {} (pid {}) ignored SIGTERM for {}; killing it", id, pid, STOP_TIMEOUT);
                h.get().destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                h.get().destroyForcibly();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }
        HostMounts.unmountAll(Path.of(mountpoint));
        Files.deleteIfExists(Path.of(apiSocket));
        HostMounts.deleteIfEmpty(Path.of(apiSocket).getParent()); // socket/<daemon id>/
        LOG.info("stopped nydusd {} (pid {})", id, pid);
    }

    private void awaitRunning(Path output) throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                throw new IOException("nydusd " + id + " exited during start-up; its output (" + output + "): "
                        + tail(output));
            }
            if (Files.exists(Path.of(apiSocket)) && "RUNNING".equals(state())
                    && HostMounts.isMountpoint(Path.of(mountpoint))) {
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for nydusd " + id);
            }
        }
        throw new IOException("nydusd " + id + " did not reach RUNNING in " + START_TIMEOUT.toSeconds()
                + " s; its output (" + output + "): " + tail(output));
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }
}
