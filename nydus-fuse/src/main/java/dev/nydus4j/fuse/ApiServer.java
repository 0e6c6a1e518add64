package dev.nydus4j.fuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.api.RafsFileSystem;
import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.storage.config.NydusdConfigParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * nydusd's HTTP admin API on a Unix socket (API.md 2): upstream's v1 endpoints, error format
 * {@code {"code":"UNDEFINED","message":"Kind(detail)"}}, one request at a time on one thread. Endpoints this
 * daemon does not implement answer 501 with a message. Live upgrade and failover (kernel engine):
 * {@code PUT /api/v1/daemon/fuse/sendfd} saves the state and the /dev/fuse descriptor to the {@code --supervisor}
 * socket (501 with the libfuse engine, 400 before the session is up or without a supervisor); a daemon started with
 * {@code --upgrade} takes them back with {@code PUT /api/v1/daemon/fuse/takeover} (INIT to READY) and serves the
 * same mount after {@code PUT /api/v1/daemon/start} (RUNNING); {@code PUT /api/v1/daemon/exit} after a sendfd
 * leaves the mount to the next daemon. The socket file is removed on {@link #close()}.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter MOUNTED_TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.S '+00:00:00'").withZone(ZoneOffset.UTC);
    private static final Set<String> HOT_KEYS = Set.of("registry_auth", "proxy_url", "dragonfly_scheduler_endpoint");

    private final Path socket;
    private final NydusDaemon daemon;
    private final Map<String, Object> version;
    private final Runnable onExit;
    private final ServerSocketChannel server;
    private final Thread thread;
    private final Map<String, String> hotConfig = new ConcurrentHashMap<>();
    /** Connections read at once; a client holding one is cut after {@link #READ_TIMEOUT_MILLIS}. */
    static final int MAX_CONNECTIONS = 32;
    /** Time a client has to send its whole request. */
    static final long READ_TIMEOUT_MILLIS = 10_000;
    private final java.util.concurrent.Semaphore connections = new java.util.concurrent.Semaphore(MAX_CONNECTIONS);
    private final java.util.concurrent.ExecutorService readers = java.util.concurrent.Executors.newCachedThreadPool(
            r -> {
                Thread t = new Thread(r, "nydusd-api-conn");
                t.setDaemon(true);
                return t;
            });
    private final java.util.concurrent.ScheduledExecutorService timer =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "nydusd-api-timer");
                t.setDaemon(true);
                return t;
            });
    /** Requests are routed one at a time, as upstream's single router thread does. */
    private final Object router = new Object();
    private volatile boolean closed;

    private ApiServer(Path socket, NydusDaemon daemon, Map<String, Object> version, Runnable onExit,
                      ServerSocketChannel server) {
        this.socket = socket;
        this.daemon = daemon;
        this.version = version;
        this.onExit = onExit;
        this.server = server;
        this.thread = new Thread(this::serve, "nydusd-api");
        this.thread.setDaemon(true);
    }

    /**
     * Binds {@code socket} (an existing file there is deleted first, as upstream does) and starts serving.
     *
     * @param version the {@code version} object of DaemonInfo
     * @param onExit  run (on a new thread) after {@code PUT /api/v1/daemon/exit} was answered
     */
    public static ApiServer start(Path socket, NydusDaemon daemon, Map<String, Object> version, Runnable onExit)
            throws IOException {
        Files.deleteIfExists(socket);
        if (socket.getParent() != null) {
            Files.createDirectories(socket.getParent());
        }
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot bind API socket " + socket + ": " + e.getMessage(), e);
        }
        ApiServer s = new ApiServer(socket, daemon, version, onExit, ch);
        s.thread.start();
        LOG.info("API server listening on {}", socket);
        return s;
    }

    /**
     * Accepts connections; each is read on its own thread with a deadline, so a client that connects and sends
     * nothing (or too slowly) cannot stall the API, while requests are still routed one at a time as upstream's
     * single router thread does. At most {@link #MAX_CONNECTIONS} are read at once; more get 503.
     */
    private void serve() {
        while (!closed) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.debug("API accept failed: {}", e.getMessage());
                }
                continue;
            }
            if (!connections.tryAcquire()) {
                try (c) {
                    HttpExchange.respond(Channels.newOutputStream(c), 503,
                            error("Busy(" + MAX_CONNECTIONS + " API connections are open)"));
                } catch (IOException e) {
                    LOG.debug("API connection failed: {}", e.getMessage());
                }
                continue;
            }
            try {
                readers.execute(() -> {
                    try (c) {
                        handle(c);
                    } catch (IOException e) {
                        if (!closed) {
                            LOG.debug("API connection failed: {}", e.getMessage());
                        }
                    } catch (RuntimeException e) {
                        LOG.error("API request crashed", e);
                    } finally {
                        connections.release();
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                connections.release();
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing down
                }
            }
        }
    }

    private void handle(SocketChannel c) throws IOException {
        InputStream in = Channels.newInputStream(c);
        OutputStream out = Channels.newOutputStream(c);
        HttpExchange ex;
        // closing the channel is what unblocks a read that never completes
        java.util.concurrent.ScheduledFuture<?> deadline = timer.schedule(() -> {
            try {
                c.close();
            } catch (IOException ignored) {
                // already closed
            }
        }, READ_TIMEOUT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        try {
            ex = HttpExchange.read(in);
        } catch (IOException e) {
            if (!c.isOpen()) {
                LOG.debug("API client sent no complete request within {} ms; connection closed", READ_TIMEOUT_MILLIS);
                return;
            }
            HttpExchange.respond(out, 400, error("BadRequest(" + e.getMessage() + ")"));
            return;
        } finally {
            deadline.cancel(false);
        }
        if (!c.isOpen()) {
            return;
        }
        Reply r;
        synchronized (router) {
            try {
                r = route(ex);
            } catch (ApiError e) {
                r = new Reply(e.status, error(e.getMessage()));
            } catch (Exception e) {
                LOG.warn("API {} {} failed: {}", ex.method, ex.path, e.getMessage());
                r = new Reply(500, error(e.getClass().getSimpleName() + "(" + e.getMessage() + ")"));
            }
        }
        HttpExchange.respond(out, r.status, r.body);
        if (r.after != null) {
            Thread t = new Thread(r.after, "nydusd-exit");
            t.start();
        }
    }

    private record Reply(int status, byte[] body, Runnable after) {
        Reply(int status, byte[] body) {
            this(status, body, null);
        }
    }

    /** An error with its HTTP status. */
    private static final class ApiError extends RuntimeException {
        final int status;

        ApiError(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private static byte[] error(String message) {
        try {
            return JSON.writeValueAsBytes(Map.of("code", "UNDEFINED", "message", message));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Reply ok(Object body) throws IOException {
        return new Reply(200, JSON.writeValueAsBytes(body));
    }

    private static final Reply NO_CONTENT = new Reply(204, null);

    private Reply route(HttpExchange ex) throws Exception {
        String m = ex.method;
        switch (ex.path) {
            case "/api/v1/daemon":
            case "/api/v2/daemon":
                if (m.equals("GET")) {
                    return ok(daemonInfo(ex.path.startsWith("/api/v1")));
                }
                if (m.equals("PUT")) {
                    JsonNode b = body(ex);
                    String level = b.path("log_level").asText("");
                    if (!LogLevels.valid(level)) {
                        throw new ApiError(500, "Logger(invalid log level '" + level + "'; one of trace, debug,"
                                + " info, warn, error)");
                    }
                    try {
                        LogLevels.set(level);
                    } catch (UnsupportedOperationException e) {
                        throw new ApiError(501, "Unsupported(" + e.getMessage() + ")");
                    }
                    return NO_CONTENT;
                }
                break;
            case "/api/v1/daemon/events":
                if (m.equals("GET")) {
                    return ok(daemon.events().toJson());
                }
                break;
            case "/api/v1/daemon/backend":
                if (m.equals("GET")) {
                    return ok(backendInfo(requireQuery(ex, "mountpoint")));
                }
                break;
            case "/api/v1/daemon/start":
                if (m.equals("PUT")) {
                    try {
                        daemon.startServing(); // after a takeover: serve the session; any other state: 400
                    } catch (IllegalStateException e) {
                        throw new ApiError(400, e.getMessage());
                    }
                    return NO_CONTENT;
                }
                break;
            case "/api/v1/daemon/exit":
                if (m.equals("PUT")) {
                    daemon.exitKeepingHandedOverMount(); // after sendfd the next daemon serves the same mount
                    return new Reply(204, null, onExit);
                }
                break;
            case "/api/v1/daemon/fuse/sendfd":
                if (m.equals("PUT")) {
                    try {
                        daemon.sendStates();
                    } catch (UnsupportedOperationException e) {
                        throw new ApiError(501, "Unsupported(" + e.getMessage() + ")");
                    } catch (IllegalStateException e) {
                        throw new ApiError(400, "SendFd(" + e.getMessage() + ")");
                    } catch (IOException e) {
                        throw new ApiError(500, "SendFd(" + e.getMessage() + ")");
                    }
                    return NO_CONTENT;
                }
                break;
            case "/api/v1/daemon/fuse/takeover":
                if (m.equals("PUT")) {
                    try {
                        daemon.takeover();
                    } catch (IllegalStateException e) {
                        throw new ApiError(400, e.getMessage());
                    } catch (IOException | IllegalArgumentException e) {
                        throw new ApiError(500, "Takeover(" + e.getMessage() + ")");
                    }
                    return NO_CONTENT;
                }
                break;
            case "/api/v1/mount":
                return mount(ex);
            case "/api/v1/metrics":
                if (m.equals("GET")) {
                    return ok(select(ex.query.get("id"), "GlobalMetrics").metrics().toJson());
                }
                break;
            case "/api/v1/metrics/files":
                if (m.equals("GET")) {
                    // upstream: per-inode counters (empty unless iostats_files); latest=true drains the inodes read
                    // since the previous call (empty unless latest_read_files)
                    FsMetrics fm = select(ex.query.get("id"), "FsFilesMetrics").metrics();
                    return ok(Boolean.parseBoolean(ex.query.getOrDefault("latest", "false"))
                            ? fm.drainLatestRead() : fm.filesJson());
                }
                break;
            case "/api/v1/metrics/pattern":
                if (m.equals("GET")) {
                    return ok(select(ex.query.get("id"), "Pattern").metrics().patternJson()); // empty unless access_pattern
                }
                break;
            case "/api/v1/metrics/backend":
                if (m.equals("GET")) {
                    RafsInstance i = select(ex.query.get("id"), "BackendMetrics");
                    return ok(i.device().backendStats().toJson(i.config().backend().type()));
                }
                break;
            case "/api/v1/metrics/blobcache":
                if (m.equals("GET")) {
                    return ok(blobcache(select(ex.query.get("id"), "BlobcacheMetrics")));
                }
                break;
            case "/api/v1/metrics/inflight":
                if (m.equals("GET")) {
                    List<Map<String, Object>> inflight = daemon.inflight();
                    return inflight.isEmpty() ? NO_CONTENT : ok(inflight);
                }
                break;
            case "/api/v1/config":
                return config(ex);
            case "/api/v2/blobs":
                if (Set.of("GET", "PUT", "DELETE").contains(m)) {
                    // as upstream, the request itself is checked first (400), then the daemon kind (501)
                    if (m.equals("GET")) {
                        requireQuery(ex, "domain_id");
                    } else if (m.equals("DELETE") && ex.query.get("domain_id") == null
                            && ex.query.get("blob_id") == null) {
                        requireQuery(ex, "domain_id");
                    } else if (m.equals("PUT")) {
                        body(ex); // unparsable or not a JSON object: 400
                    }
                    throw new ApiError(501, "Unsupported(the blob cache service API is not available on a FUSE"
                            + " daemon)");
                }
                break;
            default:
                throw new ApiError(404, "NoRoute");
        }
        throw new ApiError(400, "BadRequest");
    }

    private Reply mount(HttpExchange ex) throws Exception {
        String mp = requireQuery(ex, "mountpoint");
        switch (ex.method) {
            case "POST", "PUT" -> {
                JsonNode b = body(ex);
                String source = b.path("source").asText("");
                String fsType = b.path("fs_type").asText("");
                if (source.isEmpty() || !b.path("config").isTextual()) {
                    throw new ApiError(400, "BadRequest(mount needs 'source' and 'config' (a string))");
                }
                if (!fsType.equals("rafs")) {
                    throw new ApiError(fsType.startsWith("passthrough") ? 501 : 400, "Mount(only 'rafs' is supported"
                            + " by nydus4j, got '" + fsType + "')");
                }
                NydusdConfig cfg = NydusdConfigParser.parse(b.path("config").asText(), "mount request for " + mp);
                List<String> prefetch = prefetchFiles(b.path("prefetch_files"));
                if (ex.method.equals("PUT")) {
                    if (daemon.instance(mp) == null) {
                        throw new ApiError(500, "Mount(nothing is mounted at " + mp + ")");
                    }
                    daemon.umountImage(mp);
                }
                RafsInstance inst;
                try {
                    inst = daemon.mountImage(mp, Path.of(source), cfg, prefetch);
                } catch (IllegalStateException | IllegalArgumentException e) {
                    throw new ApiError(500, "Mount(" + e.getMessage() + ")");
                }
                if (inst.prefetcher() != null) {
                    // as upstream's, the reply comes with the prefetch under way (its amount counted in the metrics)
                    inst.prefetcher().awaitStarted(1, java.util.concurrent.TimeUnit.SECONDS);
                }
                return NO_CONTENT;
            }
            case "DELETE" -> {
                try {
                    daemon.umountImage(mp);
                } catch (IllegalArgumentException e) {
                    throw new ApiError(500, "Umount(" + e.getMessage() + ")");
                }
                return NO_CONTENT;
            }
            default -> throw new ApiError(400, "BadRequest");
        }
    }

    /**
     * The mount request's optional {@code prefetch_files}: absolute paths that replace the bootstrap's prefetch
     * table (as {@code --prefetch-files}); absent or null keeps the table.
     */
    static List<String> prefetchFiles(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return null;
        }
        if (!n.isArray()) {
            throw new ApiError(400, "BadRequest(mount 'prefetch_files' must be an array of absolute paths)");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual() || !e.asText().startsWith("/")) {
                throw new ApiError(400, "BadRequest(mount 'prefetch_files' entry " + e + " is not an absolute path)");
            }
            out.add(e.asText());
        }
        return out;
    }

    private Reply config(HttpExchange ex) throws Exception {
        String id = ex.query.getOrDefault("id", "/");
        if (ex.method.equals("GET")) {
            Map<String, String> out = new LinkedHashMap<>();
            hotConfig.forEach((k, v) -> {
                if (!ex.query.containsKey("id")) {
                    out.put(k, v);
                } else if (k.startsWith(id + ":")) {
                    out.put(k.substring(id.length() + 1), v);
                }
            });
            return ok(out);
        }
        if (ex.method.equals("PUT")) {
            JsonNode b = body(ex);
            for (var it = b.fields(); it.hasNext(); ) {
                var e = it.next();
                if (!HOT_KEYS.contains(e.getKey())) {
                    throw new ApiError(500, "Config(unknown key '" + e.getKey() + "'; hot-reloadable: " + HOT_KEYS + ")");
                }
                String value = e.getValue().asText();
                if (e.getKey().equals("registry_auth")) {
                    // applied to the registry backend of the image with that id from its blobs' next read, as
                    // upstream's backend picks the key up; other backends only store it, as upstream
                    try {
                        applyRegistryAuth(id, value);
                    } catch (IllegalArgumentException bad) {
                        throw new ApiError(500, "Config(registry_auth for " + id + ": " + bad.getMessage() + ")");
                    }
                }
                hotConfig.put(id + ":" + e.getKey(), value);
            }
            return NO_CONTENT;
        }
        throw new ApiError(400, "BadRequest");
    }

    private void applyRegistryAuth(String id, String auth) {
        for (RafsInstance i : daemon.instances()) {
            if (i.mountpoint().equals(id) || i.config().id().equals(id)) {
                daemon.registryAuth(i.mountpoint(), auth);
            }
        }
    }

    private Map<String, Object> daemonInfo(boolean withBackends) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", version);
        m.put("id", daemon.id());
        m.put("supervisor", daemon.supervisor());
        m.put("state", daemon.state().name());
        if (withBackends) { // v1: the FUSE service always exists, so an empty map (not null) before the first mount
            Map<String, Object> coll = new LinkedHashMap<>();
            for (RafsInstance i : daemon.instances()) {
                Map<String, Object> b = new LinkedHashMap<>();
                b.put("backend_type", "Rafs");
                b.put("mountpoint", i.mountpoint());
                b.put("mounted_time", MOUNTED_TIME.format(i.mountedAt()));
                b.put("config", ConfigJson.redacted(i.config()));
                coll.put(i.mountpoint(), b);
            }
            m.put("backend_collection", coll);
        } else {
            m.put("backend_collection", null);
        }
        return m;
    }

    private Map<String, Object> backendInfo(String mp) {
        RafsInstance i = daemon.instance(mp);
        if (i == null) {
            throw new ApiError(404, "NotFound(nothing is mounted at " + mp + ")");
        }
        RafsFileSystem.FsStats s = i.image().stats();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", s.version());
        m.put("root_inode", i.image().rootInode());
        m.put("chunk_size", s.chunkSize());
        m.put("inodes_count", s.inodes());
        m.put("block_size", s.blockSize());
        m.put("blocks", s.totalBlocks());
        m.put("bootstrap", i.bootstrap().toString());
        List<Map<String, Object>> blobs = new ArrayList<>();
        for (BlobInfo b : i.image().blobs()) {
            blobs.add(Map.of("blob_id", b.blobId(), "chunk_count", b.chunkCount(), "compressed_size",
                    b.compressedSize(), "uncompressed_size", b.uncompressedSize(), "features", b.features()));
        }
        m.put("blobs", blobs);
        return m;
    }

    private static Map<String, Object> blobcache(RafsInstance i) {
        var d = i.device();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.config().id());
        m.put("underlying_files", d.cacheFiles());
        m.put("store_path", d.workDir() == null ? "" : d.workDir().toString());
        m.put("partial_hits", d.partialHits());
        m.put("whole_hits", d.cacheHits());
        m.put("total", d.cacheHits() + d.partialHits() + d.cacheMisses());
        m.put("entries_count", (long) d.cacheFiles().size());
        Prefetcher p = i.prefetcher();
        long begin = p == null ? 0 : p.beginMillis();
        long end = p == null ? 0 : p.endMillis();
        m.put("prefetch_data_amount", p == null ? 0L : p.bytesRequested());
        m.put("prefetch_requests_count", p == null ? 0L : p.requests());
        m.put("prefetch_workers", p == null ? 0L : (long) p.workers());
        m.put("prefetch_unmerged_chunks", p == null ? 0L : p.chunks());
        m.put("prefetch_cumulative_time_millis", p == null ? 0L : p.requestMillis());
        // upstream splits each time into whole seconds and the milliseconds within that second
        m.put("prefetch_begin_time_secs", begin / 1000);
        m.put("prefetch_begin_time_millis", begin % 1000);
        m.put("prefetch_end_time_secs", end / 1000);
        m.put("prefetch_end_time_millis", end % 1000);
        m.put("buffered_backend_size", 0L);
        m.put("data_all_ready", d.workDir() != null && d.allCached());
        return m;
    }

    /**
     * Upstream's id rule: no id → the only instance (else 404); unknown id → 404. The message starts like upstream's
     * ({@code <Kind>(Metrics(Stats(NoCounter)))}, which its tools match on), followed by the reason.
     */
    private RafsInstance select(String id, String kind) {
        List<RafsInstance> all = daemon.instances();
        String noCounter = kind + "(Metrics(Stats(NoCounter))): ";
        if (id == null) {
            if (all.size() == 1) {
                return all.get(0);
            }
            throw new ApiError(404, noCounter + (all.isEmpty() ? "no file system is mounted"
                    : "several file systems are mounted; pass ?id=<mountpoint>"));
        }
        for (RafsInstance i : all) {
            if (i.mountpoint().equals(id) || i.config().id().equals(id)) {
                return i;
            }
        }
        throw new ApiError(404, noCounter + "no file system with id " + id);
    }

    private static String requireQuery(HttpExchange ex, String key) {
        String v = ex.query.get(key);
        if (v == null || v.isEmpty()) {
            throw new ApiError(400, "QueryString(\"'" + key + "' should be specified in query string\")");
        }
        return v;
    }

    private static JsonNode body(HttpExchange ex) {
        try {
            JsonNode n = JSON.readTree(ex.body);
            if (n == null || !n.isObject()) {
                throw new ApiError(400, "BadRequest(the request body must be a JSON object)");
            }
            return n;
        } catch (IOException e) {
            throw new ApiError(400, "BadRequest(invalid JSON body: " + e.getMessage() + ")");
        }
    }

    public Path socket() {
        return socket;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        readers.shutdownNow();
        timer.shutdownNow();
        Files.deleteIfExists(socket);
    }
}
