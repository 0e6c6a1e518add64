package dev.nydus4j.fuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.api.config.BackendConfig;
import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.device.BlobDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * nydusd's core: one FUSE mount serving one or more RAFS images (by virtual mountpoint), with upstream's daemon
 * states. Images are added at start ({@code --bootstrap}) or later ({@code POST /api/v1/mount}). Thread-safe;
 * {@link #close()} unmounts and releases every image.
 *
 * <p>Live upgrade and failover (kernel engine only): {@link #sendStates} saves the session to the
 * {@code --supervisor} socket ({@link SavedState} + the /dev/fuse descriptor); a daemon made by {@link #upgrade}
 * stays INIT, {@link #takeover} restores the images with the node-id numbering the kernel knows (READY), and
 * {@link #startServing} serves the same mount (RUNNING) without mount(2) or FUSE_INIT, asking the kernel to resend
 * what the previous daemon had read but not answered (failover policy {@code resend}; {@code flush} is treated the
 * same; {@code none} leaves such requests waiting). The supervisor keeps the session alive while no daemon serves
 * it: the kernel queues requests meanwhile (readers wait, nothing fails).
 */
public final class NydusDaemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NydusDaemon.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Upstream's daemon states (API.md 2.5). */
    public enum State { INIT, READY, RUNNING, STOPPED }

    private final BackendRegistry registry;
    private final MountTable table = new MountTable();
    private final EventRing events = new EventRing();
    /** Blob cache types (cache.type) on the class path: blobcache/filecache, dummycache/dummy and plugins. */
    private static final dev.nydus4j.storage.cache.CacheRegistry CACHES = dev.nydus4j.storage.cache.CacheRegistry.discover();
    private final java.util.Map<String, HotBackend> hotBackends = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile FsOps ops;
    private final String id;
    private final String supervisor;
    private volatile FuseMount mount;
    private volatile State state = State.INIT;
    /** The registry_auth last applied per virtual mountpoint through the API (saved for a takeover). */
    private final java.util.Map<String, String> hotAuths = new java.util.concurrent.ConcurrentHashMap<>();
    /** Prefetch lists given at mount time (null values are not stored: the image's own table). */
    private final java.util.Map<String, List<String>> prefetchLists = new java.util.concurrent.ConcurrentHashMap<>();
    /** {@code --upgrade}: the FUSE mountpoint whose session {@link #takeover} restores; null otherwise. */
    private Path upgradeMountpoint;
    private int upgradeThreads;
    private boolean upgradeResend;
    /** Restored by {@link #takeover}, consumed by {@link #startServing}. */
    private SavedState takenState;
    private int takenFd = -1;
    /** Set once the session was handed to the supervisor: an API exit then leaves the mount to the next daemon. */
    private volatile boolean handedOver;
    private volatile boolean keepMountOnClose;

    private NydusDaemon(BackendRegistry registry, String id, String supervisor) {
        this.registry = Objects.requireNonNull(registry, "registry is null");
        this.id = id;
        this.supervisor = supervisor;
    }

    /**
     * An image to serve from the start.
     *
     * @param config            its config (backend required)
     * @param bootstrap         its bootstrap
     * @param virtualMountpoint where inside the FUSE mount ("/" = the whole mount)
     * @param prefetchFiles     prefetch list overriding the image's table, or null
     */
    public record StartupImage(NydusdConfig config, Path bootstrap, String virtualMountpoint,
                               List<String> prefetchFiles) {
    }

    /**
     * Starts a daemon serving {@code image} (if given) at {@code mountpoint}. The image is opened on its own thread
     * while this one mounts FUSE (the two halves of the start-up, in parallel); FUSE requests wait
     * until the image is in place, so the first lookup already sees it (nothing is answered ENOENT and cached).
     *
     * @param image image to serve at start, or null to wait for API mounts
     * @param id    daemon id ({@code --id}), or null
     */
    public static NydusDaemon start(StartupImage image, Path mountpoint, BackendRegistry registry, String id,
                                    String supervisor) throws IOException {
        return start(image, mountpoint, registry, id, supervisor, FuseEngine.byDefault(), DEFAULT_THREADS);
    }

    /** FUSE worker threads of the kernel engine when not given ({@code --thread-num}'s default). */
    public static final int DEFAULT_THREADS = 4;

    /**
     * As {@link #start(StartupImage, Path, BackendRegistry, String, String)} with a FUSE engine and worker count.
     *
     * @param engine  the engine to use ({@link FuseEngine#byDefault()}); kernel falls back to libfuse when it
     *                cannot mount
     * @param threads worker threads of the kernel engine ({@code --thread-num})
     */
    public static NydusDaemon start(StartupImage image, Path mountpoint, BackendRegistry registry, String id,
                                    String supervisor, FuseEngine engine, int threads) throws IOException {
        if (threads < 1) {
            throw new IllegalArgumentException("FUSE threads must be >= 1, got " + threads);
        }
        long t0 = System.nanoTime();
        NydusDaemon d = new NydusDaemon(registry, id, supervisor);
        java.util.concurrent.FutureTask<RafsInstance> loading = null;
        try {
            if (image != null) {
                loading = new java.util.concurrent.FutureTask<>(() -> d.mountImage(image.virtualMountpoint(),
                        image.bootstrap(), image.config(), image.prefetchFiles()));
                Thread t = new Thread(loading, "nydusd-open-image");
                t.setDaemon(true);
                t.start();
            }
            d.ops = new FsOps(d.table, true, d.events, image != null);
            // an image mounted at start never changes: long kernel caches; a shared daemon's root does change
            boolean immutable = image != null && MountTable.normalize(image.virtualMountpoint()).equals("/");
            List<String> opts = immutable
                    ? List.of("entry_timeout=86400", "attr_timeout=86400", "negative_timeout=86400")
                    : List.of("entry_timeout=1", "attr_timeout=1", "negative_timeout=0");
            d.mount = FuseMount.mount(d.ops, mountpoint, java.util.Objects.requireNonNull(engine, "engine is null"),
                    threads, opts);
            long mounted = System.nanoTime();
            if (loading != null) {
                awaitImage(loading);
                d.ops.ready();
            }
            d.state = State.RUNNING;
            LOG.info("started in {} ms (FUSE mounted after {} ms, image ready after {} ms)",
                    (System.nanoTime() - t0) / 1_000_000, (mounted - t0) / 1_000_000,
                    (System.nanoTime() - t0) / 1_000_000);
            return d;
        } catch (IOException | RuntimeException e) {
            if (loading != null) {
                loading.cancel(false);
                try {
                    awaitImage(loading); // it owns what it opened: let it finish before closing everything
                } catch (IOException | RuntimeException ignored) {
                    // the first failure is the one reported
                }
            }
            if (d.ops != null) {
                d.ops.ready(); // release FUSE requests waiting for the image (the mount is going away)
            }
            d.close();
            throw e;
        }
    }

    private static void awaitImage(java.util.concurrent.FutureTask<RafsInstance> loading) throws IOException {
        try {
            loading.get();
        } catch (java.util.concurrent.CancellationException e) {
            // cancelled before it started: nothing was opened
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while opening the image", e);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(c);
        }
    }

    /** Starts a daemon serving {@code bootstrap} at "/" (or nothing when null), as {@code nydusd --bootstrap}. */
    public static NydusDaemon start(NydusdConfig config, Path bootstrap, Path mountpoint, BackendRegistry registry,
                                    String id, String supervisor) throws IOException {
        return start(bootstrap == null ? null : new StartupImage(config, bootstrap, "/", null), mountpoint, registry,
                id, supervisor);
    }

    /** Starts a daemon serving one image (no id). */
    public static NydusDaemon start(NydusdConfig config, Path bootstrap, Path mountpoint, BackendRegistry registry)
            throws IOException {
        return start(config, bootstrap, mountpoint, registry, null, null);
    }

    /**
     * {@code nydusd --upgrade}: a daemon that mounts nothing and stays INIT until {@link #takeover} restores the
     * FUSE session and images another daemon saved to {@code supervisor}, and {@link #startServing} serves it
     * (kernel engine only).
     *
     * @param mountpoint     the FUSE mountpoint the saved session must belong to
     * @param failoverPolicy {@code resend} or {@code flush}: requests the previous daemon read but did not answer
     *                       are queued again once serving; {@code none}: they stay unanswered
     */
    public static NydusDaemon upgrade(Path mountpoint, BackendRegistry registry, String id, String supervisor,
                                      int threads, String failoverPolicy) {
        if (supervisor == null) {
            throw new IllegalArgumentException("--upgrade needs --supervisor (where the FUSE session is taken from)");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("FUSE threads must be >= 1, got " + threads);
        }
        NydusDaemon d = new NydusDaemon(registry, id, supervisor);
        d.upgradeMountpoint = mountpoint.toAbsolutePath().normalize();
        d.upgradeThreads = threads;
        d.upgradeResend = !"none".equals(failoverPolicy);
        d.ops = new FsOps(d.table, true, d.events, false);
        LOG.info("upgrade mode: waiting for PUT /api/v1/daemon/fuse/takeover (supervisor {}, mountpoint {})",
                supervisor, d.upgradeMountpoint);
        return d;
    }

    /** Largest state accepted from a supervisor. */
    private static final int MAX_STATE = 16 << 20;
    /** How long a supervisor may take to answer. */
    private static final long SUPERVISOR_TIMEOUT_MS = 10_000;

    /**
     * {@code PUT /api/v1/daemon/fuse/sendfd}: connects to the supervisor socket and sends the daemon's state
     * ({@link SavedState}) with the /dev/fuse descriptor (SCM_RIGHTS), so that a next daemon can take the session
     * over when this one dies or is upgraded. May be repeated (each send replaces what the supervisor keeps).
     *
     * @throws UnsupportedOperationException with the libfuse engine (libfuse keeps its descriptor)
     * @throws IllegalStateException         without a supervisor, or before the session is up
     */
    public synchronized void sendStates() throws IOException {
        if (supervisor == null) {
            throw new IllegalStateException("no --supervisor socket was given");
        }
        FuseMount m = mount;
        if (state == State.READY && takenState != null) {
            // taken over, not started yet (upstream's hot upgrade saves the new daemon's state right after the
            // takeover): the session is the one just received; hand the same back under this daemon's id
            SavedState st = new SavedState(id, takenState.mountpoint(), takenState.fuse(), takenState.numbering(),
                    takenState.rootNegatives(), takenState.mounts());
            byte[] json = st.toJson();
            try (FdSocket s = FdSocket.connect(Path.of(supervisor))) {
                s.send(json, takenFd);
            }
            handedOver = true;
            LOG.info("state ({} bytes, {} images) of the taken-over session sent to supervisor {}", json.length,
                    st.mounts().size(), supervisor);
            return;
        }
        if (m == null || state != State.RUNNING) {
            throw new IllegalStateException("no FUSE session is being served (state " + state + ")");
        }
        KernelSession k = m.kernelSession();
        if (k == null) {
            throw new UnsupportedOperationException("the libfuse engine cannot hand its FUSE session over; use the"
                    + " kernel engine (--fuse-engine kernel, root)");
        }
        FuseInit.Negotiated n = k.negotiated();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (n == null && System.nanoTime() < deadline) { // the kernel sends FUSE_INIT at mount(2): it is near
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for FUSE_INIT");
            }
            n = k.negotiated();
        }
        if (n == null) {
            throw new IllegalStateException("FUSE_INIT was not answered within 5 s: nothing to hand over");
        }
        List<SavedState.Mount> mounts = new java.util.ArrayList<>();
        for (RafsInstance i : table.all()) {
            mounts.add(new SavedState.Mount(i.mountpoint(), i.number(), i.bootstrap().toAbsolutePath().toString(),
                    i.config(), prefetchLists.get(i.mountpoint()), hotAuths.get(i.mountpoint())));
        }
        SavedState st = new SavedState(id, m.mountpoint().toString(), n, table.numbering(), k.rootNegatives(),
                mounts);
        byte[] json = st.toJson();
        try (FdSocket s = FdSocket.connect(Path.of(supervisor))) {
            s.send(json, k.fd());
        }
        handedOver = true;
        LOG.info("state ({} bytes, {} images) and the FUSE descriptor sent to supervisor {}", json.length,
                mounts.size(), supervisor);
    }

    /**
     * {@code PUT /api/v1/daemon/fuse/takeover} ({@code --upgrade} only, state INIT): receives the state and the
     * /dev/fuse descriptor from the supervisor, checks that the descriptor is /dev/fuse and that the state is for
     * this mountpoint, and reopens every image with its old numbering; READY then, {@link #startServing} serves.
     */
    public synchronized void takeover() throws IOException {
        if (upgradeMountpoint == null) {
            throw new IllegalStateException("takeover needs a daemon started with --upgrade");
        }
        if (state != State.INIT || takenState != null) {
            throw new IllegalStateException("Takeover(invalid event in state " + state + ")");
        }
        FdSocket.Message msg;
        try (FdSocket s = FdSocket.connect(Path.of(supervisor))) {
            msg = s.receive(MAX_STATE, SUPERVISOR_TIMEOUT_MS);
        }
        int fd = -1;
        try {
            if (msg.fds().length != 1) {
                for (int f : msg.fds()) {
                    FdSocket.closeFd(f);
                }
                throw new IOException("supervisor " + supervisor + " sent " + msg.fds().length + " descriptors,"
                        + " expected exactly one (the /dev/fuse session)");
            }
            fd = msg.fds()[0];
            Path target = java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd));
            if (!target.toString().equals("/dev/fuse")) {
                throw new IOException("the descriptor from supervisor " + supervisor + " is " + target
                        + ", expected /dev/fuse");
            }
            SavedState st = SavedState.parse(msg.data(), "supervisor " + supervisor);
            if (!Path.of(st.mountpoint()).equals(upgradeMountpoint)) {
                throw new IOException("the state from supervisor " + supervisor + " is for mountpoint "
                        + st.mountpoint() + ", this daemon's is " + upgradeMountpoint);
            }
            if (st.fuse().maxWrite() > FuseInit.MAX_WRITE) {
                throw new IOException("the session from supervisor " + supervisor + " negotiated max_write "
                        + st.fuse().maxWrite() + ", this daemon's request buffers hold " + FuseInit.MAX_WRITE
                        + ": the kernel would refuse its reads of /dev/fuse");
            }
            if (id != null && st.daemonId() != null && !id.equals(st.daemonId())) {
                // upstream does not compare ids: its hot-upgrade flow starts the new daemon with a fresh --id
                LOG.info("taking over the session of daemon {} as daemon {}", st.daemonId(), id);
            }
            if (!FuseMount.isMounted(upgradeMountpoint)) {
                throw new IOException("nothing is mounted at " + upgradeMountpoint + " any more: the session to"
                        + " take over is gone");
            }
            if (!table.all().isEmpty()) {
                // images mounted through the API while INIT were never served: the session's own replace them
                LOG.info("replacing {} image(s) mounted before the takeover with the session's {}",
                        table.all().size(), st.mounts().size());
                IOException closing = closeAllImages(null);
                if (closing != null) {
                    throw closing;
                }
                table.resetNumbering();
            }
            restore(st);
            takenState = st;
            takenFd = fd;
            state = State.READY;
            LOG.info("took over the FUSE session of {} ({} images) from supervisor {}", st.mountpoint(),
                    st.mounts().size(), supervisor);
        } catch (IOException | RuntimeException e) {
            if (fd >= 0) {
                FdSocket.closeFd(fd);
            }
            closeAllImages(null); // the takeover failure is what is reported
            table.resetNumbering(); // a retry (the supervisor still holds the session) starts afresh
            throw e;
        }
    }

    private void restore(SavedState st) throws IOException {
        MountTable.Numbering n = st.numbering();
        java.util.Set<Integer> numbers = new java.util.HashSet<>();
        for (SavedState.Mount m : st.mounts()) {
            if (m.number() < 1 || m.number() >= n.nextNumber() || !numbers.add(m.number())) {
                throw new IOException("the state from supervisor " + supervisor + " gives " + m.mountpoint()
                        + " instance number " + m.number() + " (expected unique, 1.." + (n.nextNumber() - 1) + ")");
            }
        }
        table.restoreNumbering(n);
        for (SavedState.Mount m : st.mounts()) {
            RafsInstance inst = mountImage(m.mountpoint(), Path.of(m.bootstrap()), m.config(), m.prefetchFiles(),
                    m.number());
            ops.adoptAfterTakeover(inst);
            if (m.registryAuth() != null) {
                registryAuth(m.mountpoint(), m.registryAuth()); // credentials rotated through the API stay rotated
            }
        }
    }

    /**
     * {@code PUT /api/v1/daemon/start}: after a {@link #takeover}, serves the taken-over session (no mount, no
     * FUSE_INIT); RUNNING then. As in upstream's state machine, Start is valid only in READY: a RUNNING daemon
     * refuses it (the API answers 400).
     *
     * @throws IllegalStateException in any other state
     */
    public synchronized void startServing() {
        if (state != State.READY || takenState == null) {
            throw new IllegalStateException("Start(invalid event in state " + state
                    + (upgradeMountpoint != null ? "; take the session over first" : "") + ")");
        }
        mount = FuseMount.resume(ops, upgradeMountpoint, takenFd, upgradeThreads, takenState.fuse(),
                takenState.rootNegatives(), upgradeResend);
        takenState = null;
        state = State.RUNNING;
        notifyAll();
    }

    /** Whether the FUSE session was handed to the supervisor ({@link #sendStates}). */
    public boolean handedOver() {
        return handedOver;
    }

    /**
     * For {@code PUT /api/v1/daemon/exit}: when the session was handed to the supervisor, {@link #close} leaves the
     * mount (and the images) alone and the process just ends, so that the next daemon serves the same mount (the
     * live-upgrade sequence: sendfd, exit, takeover, start). SIGTERM still unmounts.
     */
    public void exitKeepingHandedOverMount() {
        keepMountOnClose = handedOver;
    }

    /**
     * Opens {@code bootstrap} with {@code config} and serves it at {@code virtualMountpoint}.
     *
     * @throws IllegalStateException    when the mountpoint is taken
     * @throws IllegalArgumentException for a bad mountpoint or config
     */
    public RafsInstance mountImage(String virtualMountpoint, Path bootstrap, NydusdConfig config) throws IOException {
        return mountImage(virtualMountpoint, bootstrap, config, null);
    }

    /**
     * As {@link #mountImage(String, Path, NydusdConfig)}, with a prefetch list ({@code --prefetch-files}, mount API
     * {@code prefetch_files}) that overrides the bootstrap's prefetch table; null keeps the table.
     */
    public RafsInstance mountImage(String virtualMountpoint, Path bootstrap, NydusdConfig config,
                                   List<String> prefetchFiles) throws IOException {
        return mountImage(virtualMountpoint, bootstrap, config, prefetchFiles, 0);
    }

    /** @param number the instance number to use (a takeover keeps the old ones), or 0 for the next one */
    private RafsInstance mountImage(String virtualMountpoint, Path bootstrap, NydusdConfig config,
                                    List<String> prefetchFiles, int number) throws IOException {
        long t0 = System.nanoTime();
        String mp = MountTable.normalize(virtualMountpoint);
        if (state == State.STOPPED) {
            throw new IllegalStateException("daemon is stopped");
        }
        if (table.get(mp) != null) {
            throw new IllegalStateException("mountpoint " + mp + " is already mounted");
        }
        BackendConfig backend = config.backend();
        if (backend == null) {
            throw new IllegalArgumentException("the nydusd config has no backend; add device.backend (v1) or"
                    + " [backend] (v2), or use --localfs-dir / -D");
        }
        JsonNode node = JSON.valueToTree(backend.config());
        BackendContext ctx = BackendContext.simple(mp);
        // the registry_auth of PUT /api/v1/config applies to the blobs opened through this while mounted
        HotBackend hot = new HotBackend(registry, backend.type(), node, "backend." + backend.type(), ctx);
        Path workDir = config.cache().isBlobCache() ? Path.of(config.cache().workDir()) : null;
        // every chunk fetched from a backend is verified against its digest before it is cached or served, whatever
        // cache.validate says: a wrong byte must never reach a reader (costs ~1 ms per MiB fetched)
        BlobDevice device = BlobDevice.builder().backend(hot::open).instanceId(mp).validate(true)
                .cache(CACHES, config.cache()).amplifyIo(config.rafs().batchSize()).build();
        // RAFS v6 in direct mode: headers and chunk table checked now, inodes decoded on first use; v5 read whole.
        RafsImage image = RafsImage.openDirect(bootstrap, device); // closes the device on failure
        PrefetchConfig pc = config.rafs().prefetch();
        Prefetcher prefetcher = null;
        if (pc.enable()) {
            List<String> prefetchList;
            try {
                prefetchList = prefetchFiles != null ? prefetchFiles : image.prefetchPaths();
            } catch (IOException | RuntimeException e) {
                image.close();
                throw e;
            }
            prefetcher = Prefetcher.start(image, image.chunkSize(), prefetchList, pc, mp);
        }
        RafsInstance inst = new RafsInstance(mp, number > 0 ? number : table.nextNumber(), bootstrap, config, image,
                device, Instant.now(),
                new FsMetrics(mp, config.rafs().iostatsFiles(), config.rafs().accessPattern(),
                        config.rafs().latestReadFiles()), prefetcher);
        try {
            table.add(inst);
        } catch (RuntimeException e) {
            inst.close();
            hot.close();
            throw e;
        }
        hotBackends.put(mp, hot);
        if (prefetchFiles != null) {
            prefetchLists.put(mp, List.copyOf(prefetchFiles));
        }
        FuseMount m = mount;
        if (m != null) {
            m.invalidate(mp, List.of()); // a name looked up before (maybe cached as absent) now leads to the image
        }
        if (state == State.INIT && upgradeMountpoint == null) {
            state = State.READY;
        }
        LOG.info("mounted {} at virtual mountpoint {} in {} ms (backend {}, cache {})", bootstrap, mp,
                (System.nanoTime() - t0) / 1_000_000, backend.type(), workDir == null ? "none" : workDir);
        return inst;
    }

    /** Stops serving the image at {@code virtualMountpoint}. */
    public void umountImage(String virtualMountpoint) throws IOException {
        String mp = MountTable.normalize(virtualMountpoint);
        RafsInstance inst = table.remove(mp);
        if (inst == null) {
            throw new IllegalArgumentException("nothing is mounted at " + mp);
        }
        prefetchLists.remove(mp);
        hotAuths.remove(mp);
        FuseMount m = mount;
        if (m != null) {
            List<String> rootNames = List.of();
            if (mp.equals("/")) { // its root's names were cached as the mount root's entries
                try {
                    rootNames = inst.image().readdir(inst.image().rootInode()).stream()
                            .map(dev.nydus4j.api.DirEntry::name).toList();
                } catch (IOException e) {
                    LOG.warn("cannot list the root of {} to invalidate it: {}", mp, e.getMessage());
                }
            }
            m.invalidate(mp, rootNames);
        }
        try {
            inst.close();
        } finally {
            closeHot(mp);
        }
        LOG.info("unmounted virtual mountpoint {}", mp);
    }

    private void closeHot(String mp) throws IOException {
        HotBackend h = hotBackends.remove(mp);
        if (h != null) {
            h.close();
        }
    }

    /**
     * Applies a hot {@code registry_auth} (API.md 2.4) to the image at {@code virtualMountpoint}: its registry blobs
     * use the new credentials from their next read (empty = anonymous).
     *
     * @return false when nothing is mounted there or its backend is not a registry
     */
    public boolean registryAuth(String virtualMountpoint, String auth) {
        String mp = MountTable.normalize(virtualMountpoint);
        HotBackend h = hotBackends.get(mp);
        boolean applied = h != null && h.registryAuth(auth);
        if (applied) {
            hotAuths.put(mp, auth); // a daemon taking the session over applies it again
        }
        return applied;
    }

    /** The instance at a virtual mountpoint, or null. */
    public RafsInstance instance(String virtualMountpoint) {
        return table.get(MountTable.normalize(virtualMountpoint));
    }

    public List<RafsInstance> instances() {
        return table.all();
    }

    public State state() {
        return state;
    }

    public String id() {
        return id;
    }

    public String supervisor() {
        return supervisor;
    }

    public FuseMount mount() {
        return mount;
    }

    /** Backend reads of all images (for tests and the main job). */
    public long backendReadCount() {
        return table.all().stream().mapToLong(i -> i.device().backendReadCount()).sum();
    }

    /** Backend bytes of all images. */
    public long backendReadBytes() {
        return table.all().stream().mapToLong(i -> i.device().backendReadBytes()).sum();
    }

    /** Recent read errors. */
    EventRing events() {
        return events;
    }

    /** Reads being served now, as {@code /api/v1/metrics/inflight} entries. */
    List<java.util.Map<String, Object>> inflight() {
        FsOps f = ops;
        if (f == null) {
            return List.of();
        }
        return f.inflight().stream().map(r -> java.util.Map.<String, Object>of("inode", r.inode(), "opcode",
                FsOps.InflightRead.FUSE_READ_OPCODE, "unique", r.unique(), "timestamp_secs", r.timestampSecs()))
                .toList();
    }

    /**
     * Blocks until the FUSE mount ends (unmounted from outside, or {@link #close()}); an {@code --upgrade} daemon first
     * waits until it serves the taken-over session (or is closed).
     */
    public void await() throws InterruptedException {
        synchronized (this) {
            while (mount == null && upgradeMountpoint != null && state != State.STOPPED) {
                wait();
            }
        }
        FuseMount m = mount;
        if (m != null) {
            m.await();
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (state == State.STOPPED) {
            return;
        }
        state = State.STOPPED;
        notifyAll();
        if (keepMountOnClose) {
            // the supervisor holds the session: the mount stays, the next daemon serves it (the kernel holds
            // requests meanwhile; one this process read but did not answer is resent by the next daemon)
            LOG.info("exiting without unmounting {}: its FUSE session was handed to supervisor {}",
                    mount == null ? "-" : mount.mountpoint(), supervisor);
            return;
        }
        if (takenFd >= 0 && mount == null) {
            FdSocket.closeFd(takenFd); // taken over but never served
        }
        IOException first = null;
        try {
            if (mount != null) {
                mount.close();
            }
        } catch (IOException e) {
            first = e;
        }
        first = closeAllImages(first);
        if (first != null) {
            throw first;
        }
    }

    /**
     * Removes every image from the table and closes it and its hot backend (after the first failure of one image,
     * the others are still closed). Returns {@code first}, or the first failure when {@code first} is null, with any
     * further failures added to it as suppressed.
     */
    private IOException closeAllImages(IOException first) {
        for (RafsInstance inst : table.all()) {
            table.remove(inst.mountpoint());
            try {
                inst.close();
                closeHot(inst.mountpoint());
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        return first;
    }
}
