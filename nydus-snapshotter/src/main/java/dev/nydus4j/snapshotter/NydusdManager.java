package dev.nydus4j.snapshotter;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.nydus4j.fuse.ApiClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * nydusd lifecycle (SNAPSHOTTER.md 4): one RAFS instance per Nydus bootstrap snapshot, served by a dedicated nydusd
 * per image or by one shared nydusd with sub-mounts ({@code POST /api/v1/mount?mountpoint=/<id>}). Daemons and
 * instances are persisted in {@code nydus.json}: on start-up live daemons are re-attached, dead ones restarted with
 * their instances (or dropped with {@code recover_policy = none}); a watcher thread does the same for daemons that
 * die while the snapshotter runs. With {@code recover_policy = failover} every daemon gets a supervisor socket
 * ({@link NydusdSupervisor}) and is asked to save its FUSE session there right after it starts (and again after each
 * shared-daemon mount change), as upstream's snapshotter does; a daemon that dies is replaced by one started with
 * {@code --upgrade} that takes the session over, so the mounts stay and running containers go on (a failed failover
 * falls back to a restart). Thread-safe (synchronized). {@link #close()} stops the watcher and leaves daemons
 * running; {@link #stopAll()} stops them.
 */
final class NydusdManager implements RemoteFs {
    private static final Logger LOG = LoggerFactory.getLogger(NydusdManager.class);
    static final String SHARED_ID = "shared_daemon";

    /** One RAFS instance: bootstrap snapshot id, daemon, where it is visible. */
    record Instance(@JsonProperty("snapshot_id") long snapshotId, @JsonProperty("daemon_id") String daemonId,
                    @JsonProperty("image_ref") String imageRef, @JsonProperty("bootstrap") String bootstrap,
                    @JsonProperty("config") String config, @JsonProperty("mountpoint") String mountpoint) {
    }

    /** On-disk shape of {@code nydus.json}. */
    record State(@JsonProperty("version") int version, @JsonProperty("daemons") List<NydusdProcess> daemons,
                 @JsonProperty("instances") List<Instance> instances) {
    }

    private final Layout layout;
    private final SnapshotterConfig settings;
    private final NydusdConfigTemplate template;
    private final DockerAuth auth;
    private final StateFile<State> file;
    private final Map<String, NydusdProcess> daemons = new HashMap<>();
    private final Map<Long, Instance> instances = new HashMap<>();
    private final Map<String, NydusdSupervisor> supervisors = new HashMap<>();
    private final ScheduledExecutorService watcher;

    private NydusdManager(Layout layout, SnapshotterConfig settings, NydusdConfigTemplate template) {
        this.layout = layout;
        this.settings = settings;
        this.template = template;
        this.auth = new DockerAuth(settings.dockerConfig());
        this.file = new StateFile<>(layout.daemonState(), State.class);
        this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nydusd-watcher");
            t.setDaemon(true);
            return t;
        });
    }

    /** Loads the seed config and the persisted state, recovers daemons, and starts watching them. */
    static NydusdManager open(Layout layout, SnapshotterConfig settings) throws IOException {
        NydusdManager m = new NydusdManager(layout, settings, NydusdConfigTemplate.load(settings.nydusdConfig()));
        try {
            m.recover();
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        m.watcher.scheduleWithFixedDelay(m::watch, 1, 1, TimeUnit.SECONDS);
        return m;
    }

    @Override
    public synchronized Path mount(SnapshotRecord layer) throws IOException {
        Instance existing = instances.get(layer.id());
        if (existing != null) {
            NydusdProcess d = daemons.get(existing.daemonId());
            if (d == null || !d.isHealthy()) {
                restart(existing.daemonId());
            }
            return Path.of(existing.mountpoint());
        }
        Path bootstrap = layout.bootstrap(layer.id());
        if (!Files.isRegularFile(bootstrap)) {
            throw new SnapshotException(SnapshotException.Code.FAILED_PRECONDITION, "Nydus bootstrap layer "
                    + layer.key() + " has no image/image.boot (expected " + bootstrap + ")");
        }
        String imageRef = Labels.imageRef(layer.labels());
        String instanceName = "rafs-" + layer.id();
        Path config = layout.daemonConfig(instanceName);
        Files.createDirectories(config.getParent());
        Files.writeString(config, template.forImage(imageRef, layout.cache(), auth));
        Instance inst;
        if (settings.daemonMode() == SnapshotterConfig.DaemonMode.DEDICATED) {
            String id = "nydusd-" + layer.id();
            Path mp = layout.dedicatedMountpoint(layer.id());
            daemons.put(id, spawnDaemon(id, mp, config, bootstrap));
            inst = new Instance(layer.id(), id, imageRef, bootstrap.toString(), config.toString(), mp.toString());
        } else {
            NydusdProcess shared = sharedDaemon();
            inst = new Instance(layer.id(), SHARED_ID, imageRef, bootstrap.toString(), config.toString(),
                    layout.sharedMountpoint().resolve(Long.toString(layer.id())).toString());
            apiMount(shared, inst);
            saveSession(shared);
        }
        instances.put(layer.id(), inst);
        save();
        LOG.info("Nydus image {} (snapshot {}) mounted at {}", imageRef, layer.key(), inst.mountpoint());
        return Path.of(inst.mountpoint());
    }

    @Override
    public synchronized void umount(long snapshotId) throws IOException {
        Instance inst = instances.remove(snapshotId);
        if (inst == null) {
            return;
        }
        NydusdProcess d = daemons.get(inst.daemonId());
        if (d != null && inst.daemonId().equals(SHARED_ID)) {
            if (d.isAlive()) {
                ApiClient.Response r = d.api().send("DELETE", "/api/v1/mount?mountpoint=/" + snapshotId, null);
                if (!r.isSuccess()) {
                    LOG.warn("shared nydusd refused to unmount /{}: {} {}", snapshotId, r.status(), r.body());
                }
                saveSession(d);
            }
            // the shared daemon stays without images, as upstream's: it lives as long as the snapshotter
        } else if (d != null) {
            daemons.remove(inst.daemonId());
            closeSupervisor(inst.daemonId()); // first: a session nobody serves would make the unmount wait
            d.stop();
        }
        Files.deleteIfExists(Path.of(inst.config()));
        HostMounts.deleteIfEmpty(Path.of(inst.config()).getParent()); // config/rafs-<id>/
        save();
        LOG.info("Nydus instance of snapshot {} unmounted", snapshotId);
    }

    @Override
    public synchronized Set<Long> instances() {
        return Set.copyOf(instances.keySet());
    }

    /** The daemon serving snapshot {@code snapshotId}, or null (tests). */
    synchronized NydusdProcess daemonOf(long snapshotId) {
        Instance i = instances.get(snapshotId);
        return i == null ? null : daemons.get(i.daemonId());
    }

    /** Mount count of the FUSE daemons: one per image when dedicated, one when shared. */
    synchronized int daemonCount() {
        return daemons.size();
    }

    synchronized void stopAll() throws IOException {
        for (String id : List.copyOf(supervisors.keySet())) {
            closeSupervisor(id); // first: a session nobody serves would make the unmount wait
        }
        for (NydusdProcess d : List.copyOf(daemons.values())) {
            d.stop();
        }
        daemons.clear();
        instances.clear();
        save();
    }

    @Override
    public void close() {
        watcher.shutdownNow();
    }

    private void watch() {
        synchronized (this) {
            for (String id : List.copyOf(daemons.keySet())) {
                NydusdProcess d = daemons.get(id);
                if (d != null && !d.isAlive()) {
                    LOG.warn("nydusd {} (pid {}) died", id, d.pid());
                    try {
                        NydusdSupervisor sup = supervisors.get(id);
                        if (settings.recoverPolicy() == SnapshotterConfig.RecoverPolicy.FAILOVER && sup != null
                                && sup.hasState()) {
                            failoverOrRestart(id);
                        } else if (settings.recoverRestart()) {
                            restart(id);
                        } else {
                            drop(id);
                        }
                    } catch (IOException | RuntimeException e) {
                        LOG.error("cannot recover nydusd {}; the images it served fail until the next Mounts: {}",
                                id, e.getMessage());
                    }
                }
            }
        }
    }

    private void recover() throws IOException {
        State state = file.load();
        if (state == null) {
            startSharedDaemon();
            return;
        }
        for (Instance i : state.instances()) {
            instances.put(i.snapshotId(), i);
        }
        for (NydusdProcess d : state.daemons()) {
            daemons.put(d.id(), d);
        }
        for (NydusdProcess d : state.daemons()) {
            boolean serves = instances.values().stream().anyMatch(i -> i.daemonId().equals(d.id()));
            if (!serves && !(d.id().equals(SHARED_ID)
                    && settings.daemonMode() == SnapshotterConfig.DaemonMode.SHARED)) {
                // e.g. the shared daemon of an earlier run in shared mode, now dedicated: nothing needs it, so it
                // is stopped (or its dead mount cleared) instead of re-attached or restarted as a stray daemon
                LOG.info("nydusd {} (pid {}) serves no image in {} mode; stopping it", d.id(), d.pid(),
                        settings.daemonMode().name().toLowerCase(java.util.Locale.ROOT));
                drop(d.id());
            } else if (d.isHealthy()) {
                LOG.info("re-attached to nydusd {} (pid {})", d.id(), d.pid());
                saveSession(d); // the previous snapshotter's supervisor kept it: ask for it again, as upstream
            } else if (settings.recoverRestart()) {
                LOG.warn("nydusd {} (pid {}) is gone or unhealthy; restarting it", d.id(), d.pid());
                restart(d.id());
            } else {
                drop(d.id());
            }
        }
        startSharedDaemon();
        save();
    }

    /**
     * Shared mode: the daemon starts with the snapshotter, as upstream's ({@code initSharedDaemon} at start-up), so
     * the first Nydus container does not wait for a daemon (a JVM) to start, only for the sub-mount.
     */
    private void startSharedDaemon() throws IOException {
        if (settings.daemonMode() == SnapshotterConfig.DaemonMode.SHARED) {
            sharedDaemon();
            save();
        }
    }

    /** Starts daemon {@code id} again after unmounting its stale FUSE mountpoint, and mounts its instances. */
    private void restart(String id) throws IOException {
        // a kept session would outlive the old mount and make its unmount wait; the new daemon saves a new one
        closeSupervisor(id);
        NydusdProcess old = daemons.remove(id);
        if (old != null) {
            old.stop();
        }
        List<Instance> served = new ArrayList<>(instances.values().stream().filter(i -> i.daemonId().equals(id))
                .toList());
        if (id.equals(SHARED_ID)) {
            NydusdProcess shared = sharedDaemon();
            for (Instance i : served) {
                apiMount(shared, i);
            }
            if (!served.isEmpty()) {
                saveSession(shared);
            }
        } else if (!served.isEmpty()) {
            Instance i = served.get(0);
            daemons.put(id, spawnDaemon(id, Path.of(i.mountpoint()), Path.of(i.config()), Path.of(i.bootstrap())));
        }
        save();
    }

    /**
     * recover_policy failover: a new daemon started with {@code --upgrade} takes the dead one's FUSE session over
     * from the supervisor (no unmount: the mount and the files open in it stay), then saves the session again so a
     * next death can fail over too. When that fails the daemon is restarted instead (mounting again).
     */
    private void failoverOrRestart(String id) throws IOException {
        NydusdProcess old = daemons.remove(id);
        NydusdSupervisor sup = supervisors.get(id);
        long t0 = System.nanoTime();
        try {
            if (old != null) {
                old.kill(); // it is dead already: make sure, and drop its API socket, but leave its mount
            }
            Path mp = old != null ? Path.of(old.mountpoint())
                    : id.equals(SHARED_ID) ? layout.sharedMountpoint() : null;
            if (mp == null) {
                throw new IOException("no mountpoint is known for nydusd " + id);
            }
            Instance i = id.equals(SHARED_ID) ? null : instances.values().stream()
                    .filter(x -> x.daemonId().equals(id)).findFirst().orElse(null);
            java.util.concurrent.CompletableFuture<Void> handed = sup.sendStates();
            NydusdProcess d = watchExit(NydusdProcess.spawn(settings, layout, id, mp,
                    i == null ? null : Path.of(i.config()), i == null ? null : Path.of(i.bootstrap()), sup.socket(),
                    true));
            daemons.put(id, d);
            try {
                handed.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.debug("supervisor hand-over of {} did not report completion: {}", id, e.toString());
            }
            save();
            LOG.info("nydusd {} failed over to pid {} in {} ms; its mount {} stayed", id, d.pid(),
                    (System.nanoTime() - t0) / 1_000_000, mp);
            saveSession(d);
        } catch (IOException | RuntimeException e) {
            LOG.error("failover of nydusd {} failed ({}); restarting it (its mount is replaced)", id, e.getMessage());
            NydusdProcess half = daemons.remove(id);
            if (half != null) {
                half.kill();
            }
            if (old != null) {
                daemons.put(id, old); // restart() stops (and unmounts) what is left
            }
            restart(id);
        }
    }

    /**
     * Live upgrade of daemon {@code id} (recover_policy failover only): the running daemon saves its session
     * (sendfd) and exits through its API, leaving the mount to the supervisor; a new daemon started with
     * {@code --upgrade} takes the session over and starts. The mount, its open files and the containers stay;
     * requests meanwhile wait in the kernel, and those the old daemon read but did not answer are resent. Unlike
     * upstream's order (new daemon INIT before the old one exits) the old daemon goes first: both would bind the same
     * API socket path. The wait is the new daemon's start-up.
     *
     * @throws IllegalStateException when the daemon is unknown or recover_policy is not failover
     */
    synchronized void liveUpgrade(String id) throws IOException {
        NydusdProcess old = daemons.get(id);
        NydusdSupervisor sup = supervisors.get(id);
        if (old == null || sup == null || settings.recoverPolicy() != SnapshotterConfig.RecoverPolicy.FAILOVER) {
            throw new IllegalStateException("nydusd " + id + " cannot be upgraded live: "
                    + (old == null ? "no such daemon" : "recover_policy is not failover"));
        }
        saveSession(old); // the state as of now (a shared daemon's mounts change)
        if (!sup.hasState()) {
            throw new IllegalStateException("nydusd " + id + " did not save its FUSE session");
        }
        ApiClient.Response r = old.api().send("PUT", "/api/v1/daemon/exit", null);
        if (!r.isSuccess()) {
            throw new IOException("nydusd " + id + " refused PUT /api/v1/daemon/exit: " + r.status() + " " + r.body());
        }
        ProcessHandle.of(old.pid()).ifPresent(h -> {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("nydusd {} (pid {}) did not exit: {}; killing it", id, old.pid(), e.toString());
            }
        });
        failoverOrRestart(id); // the watcher may run too: it finds the daemon replaced
    }

    /** Starts a daemon; with recover_policy failover it gets a supervisor socket and saves its session there. */
    private NydusdProcess spawnDaemon(String id, Path mountpoint, Path config, Path bootstrap) throws IOException {
        if (settings.recoverPolicy() != SnapshotterConfig.RecoverPolicy.FAILOVER) {
            return watchExit(NydusdProcess.spawn(settings, layout, id, mountpoint, config, bootstrap));
        }
        NydusdSupervisor sup = supervisors.computeIfAbsent(id,
                k -> new NydusdSupervisor(k, layout.supervisorSocket(k)));
        NydusdProcess d = NydusdProcess.spawn(settings, layout, id, mountpoint, config, bootstrap, sup.socket(),
                false);
        saveSession(d);
        return watchExit(d);
    }

    /**
     * Runs the watcher as soon as {@code d} exits (it is our child: the JVM learns it at once), instead of at the
     * next one-second tick; a failover then starts without that wait.
     */
    private NydusdProcess watchExit(NydusdProcess d) {
        ProcessHandle.of(d.pid()).ifPresent(h -> h.onExit().thenRun(() -> {
            try {
                watcher.execute(this::watch);
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                // the manager was closed: daemons are no longer watched
            }
        }));
        return d;
    }

    /**
     * Asks daemon {@code d} to save its FUSE session to its supervisor (recover_policy failover only). A failure is
     * logged: the daemon serves on, and its death is then handled by a restart.
     */
    private void saveSession(NydusdProcess d) {
        NydusdSupervisor sup = supervisors.get(d.id());
        if (settings.recoverPolicy() != SnapshotterConfig.RecoverPolicy.FAILOVER) {
            return;
        }
        if (sup == null) {
            sup = new NydusdSupervisor(d.id(), layout.supervisorSocket(d.id()));
            supervisors.put(d.id(), sup);
        }
        try {
            sup.fetchStates(() -> {
                ApiClient.Response r = d.api().send("PUT", "/api/v1/daemon/fuse/sendfd", null);
                if (!r.isSuccess()) {
                    throw new IOException("nydusd " + d.id() + " refused PUT /api/v1/daemon/fuse/sendfd: " + r.status()
                            + " " + r.body());
                }
            });
        } catch (IOException | RuntimeException e) {
            LOG.warn("nydusd {} could not save its FUSE session for failover (a death restarts it instead): {}",
                    d.id(), e.getMessage());
        }
    }

    /**
     * Drops the session a supervisor keeps. When no daemon serves it any more, closing the last /dev/fuse descriptor
     * aborts the FUSE connection: requests then fail (ENOTCONN) instead of waiting, so the mount can be removed.
     */
    private void closeSupervisor(String id) {
        NydusdSupervisor sup = supervisors.remove(id);
        if (sup != null) {
            sup.close();
        }
    }

    private void drop(String id) throws IOException {
        closeSupervisor(id);
        NydusdProcess old = daemons.remove(id);
        if (old != null) {
            old.stop();
        }
        instances.values().removeIf(i -> i.daemonId().equals(id));
        save();
    }

    private NydusdProcess sharedDaemon() throws IOException {
        NydusdProcess d = daemons.get(SHARED_ID);
        if (d != null && d.isHealthy()) {
            return d;
        }
        if (d != null) {
            d.stop();
        }
        d = spawnDaemon(SHARED_ID, layout.sharedMountpoint(), null, null);
        daemons.put(SHARED_ID, d);
        return d;
    }

    private static void apiMount(NydusdProcess shared, Instance i) throws IOException {
        String body = StateFile.JSON.writeValueAsString(Map.of("fs_type", "rafs", "source", i.bootstrap(),
                "config", Files.readString(Path.of(i.config()))));
        ApiClient.Response r = shared.api().send("POST", "/api/v1/mount?mountpoint=/" + i.snapshotId(), body);
        if (!r.isSuccess()) {
            throw new IOException("shared nydusd refused to mount snapshot " + i.snapshotId() + ": " + r.status()
                    + " " + r.body());
        }
    }

    private void save() throws IOException {
        file.save(new State(1, new ArrayList<>(daemons.values()), new ArrayList<>(instances.values())));
    }
}
