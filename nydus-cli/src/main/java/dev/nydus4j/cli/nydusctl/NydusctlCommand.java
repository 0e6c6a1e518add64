package dev.nydus4j.cli.nydusctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.cli.image.ErrorReporter;
import dev.nydus4j.fuse.ApiClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code nydusctl}: queries and controls a running nydusd over its API socket (API spec 3). */
@Command(name = "nydusctl", mixinStandardHelpOptions = true, versionProvider = NydusctlCommand.Version.class,
        description = "Queries and controls a running nydusd.",
        subcommands = {NydusctlCommand.Info.class, NydusctlCommand.Set.class, NydusctlCommand.Metrics.class,
                NydusctlCommand.Mount.class, NydusctlCommand.Umount.class})
public final class NydusctlCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = {"-S", "--sock"}, required = true, paramLabel = "PATH", description = "nydusd API socket.")
    Path sock;

    @Option(names = {"-r", "--raw"}, description = "Print the daemon's raw JSON.")
    boolean raw;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    ApiClient client() {
        return new ApiClient(sock, "nydusctl");
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** Sends a request; a status >= 400 is an error "Request failed. <json>". */
    String call(String method, String path, String body) throws IOException {
        ApiClient.Response r = client().send(method, path, body);
        if (r.status() >= 400) {
            throw new IOException("Request failed. " + r.body().strip());
        }
        return r.body();
    }

    void print(String json, Printer human) throws IOException {
        if (raw || json.isBlank()) {
            out().println(json.strip());
            return;
        }
        human.print(JSON.readTree(json), out());
    }

    @FunctionalInterface
    interface Printer {
        void print(JsonNode n, PrintWriter out);
    }

    @Command(name = "info", description = "Daemon information and mounted instances.")
    static final class Info implements Callable<Integer> {
        @CommandLine.ParentCommand
        NydusctlCommand top;

        @Override
        public Integer call() throws IOException {
            top.print(top.call("GET", "/api/v1/daemon", null), (n, out) -> {
                // upstream's layout; like upstream, JSON values print in their JSON form (strings quoted)
                JsonNode v = n.path("version");
                out.print("\nVersion:                " + v.path("package_ver")
                        + "\nStatus:                 " + n.path("state")
                        + "\nProfile:                " + v.path("profile")
                        + "\nCommit:                 " + v.path("git_commit") + "\n");
                JsonNode coll = n.path("backend_collection");
                if (coll.isObject() && !coll.isEmpty()) {
                    out.println("Instances:");
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = coll.fields(); it.hasNext(); ) {
                    var e = it.next();
                    JsonNode b = e.getValue();
                    out.println("\tInstance Mountpoint:  " + e.getKey());
                    out.println("\tType:  " + b.path("backend_type").asText());
                    out.println("\tMounted Time:  " + b.path("mounted_time").asText());
                    if (b.path("backend_type").asText().equals("Rafs")) {
                        JsonNode cfg = b.path("config");
                        JsonNode prefetch = cfg.path("cache").path("prefetch");
                        out.println("\tMode:  " + cfg.path("rafs").path("mode").asText("direct"));
                        out.println("\tPrefetch:  " + prefetch.path("enable").asBoolean());
                        out.println("\tPrefetch Merging Size:  " + prefetch.path("batch_size").asLong());
                        out.println();
                    }
                }
            });
            return 0;
        }
    }

    @Command(name = "set", description = "Change a daemon setting: set log-level <level>.")
    static final class Set implements Callable<Integer> {
        @CommandLine.ParentCommand
        NydusctlCommand top;
        @Parameters(index = "0", paramLabel = "KIND", description = "log-level")
        String kind;
        @Parameters(index = "1", paramLabel = "VALUE")
        String value;

        @Override
        public Integer call() throws IOException {
            if (!kind.equals("log-level")) {
                throw new IllegalArgumentException("unknown setting '" + kind + "'; only log-level can be set");
            }
            top.call("PUT", "/api/v1/daemon", JSON.writeValueAsString(Map.of("log_level", value)));
            return 0;
        }
    }

    @Command(name = "metrics", description = "Daemon metrics: backend, cache, fsstats, files, pattern, inflight.")
    static final class Metrics implements Callable<Integer> {
        @CommandLine.ParentCommand
        NydusctlCommand top;
        @Parameters(index = "0", paramLabel = "KIND",
                description = "backend, cache (blobcache), fsstats, files, pattern, inflight")
        String kind;
        @Option(names = {"-I", "--interval"}, description = "Repeat every N seconds, printing deltas (backend).")
        int interval;
        @Option(names = "--latest", description = "files: the inodes read since the previous --latest query"
                + " (needs latest_read_files).")
        boolean latest;

        @Override
        public Integer call() throws Exception {
            String path = switch (kind) {
                case "backend" -> "/api/v1/metrics/backend";
                case "cache", "blobcache" -> "/api/v1/metrics/blobcache";
                case "fsstats" -> "/api/v1/metrics";
                case "files" -> latest ? "/api/v1/metrics/files?latest=true" : "/api/v1/metrics/files";
                case "pattern" -> "/api/v1/metrics/pattern";
                case "inflight" -> "/api/v1/metrics/inflight";
                default -> throw new IllegalArgumentException("unknown metrics '" + kind
                        + "'; one of backend, cache, fsstats, files, pattern, inflight");
            };
            if (interval > 0 && kind.equals("backend")) {
                backendDeltas(top.call("GET", path, null));
                return 0;
            }
            String body = top.call("GET", path, null);
            switch (kind) {
                case "backend" -> top.print(body, Metrics::backend);
                case "cache", "blobcache" -> top.print(body, Metrics::cache);
                case "fsstats" -> top.print(body, Metrics::fsstats);
                case "files" -> top.print(body, latest ? (n, out) -> out.println(n) : Metrics::files);
                case "pattern" -> top.print(body, Metrics::pattern);
                default -> top.print(body, (n, out) -> out.println(n)); // inflight: the daemon's list as is
            }
            top.out().flush();
            return 0;
        }

        private static final String[] SIZES = {"<1K", "1K~", "4K~", "16K~", "64K~", "128K~", "512K~", "1M~"};

        /** Upstream's {@code metrics backend -I N}: every N seconds the deltas since the previous query, forever. */
        private void backendDeltas(String first) throws Exception {
            JsonNode last = JSON.readTree(first);
            PrintWriter out = top.out();
            while (true) {
                Thread.sleep(interval * 1000L);
                JsonNode now = JSON.readTree(top.call("GET", "/api/v1/metrics/backend", null));
                if (top.raw) {
                    out.println(now);
                } else {
                    long data = delta(last, now, "read_amount_total");
                    long requests = delta(last, now, "read_count");
                    long latency = delta(last, now, "read_cumulative_latency_millis_total");
                    out.print("\n>>> >>> >>> >>> >>>\nBackend Read Bandwidth:     " + div(data, interval * 1024L)
                            + " KB/S\nBackend Average IO Size:    " + div(data, requests)
                            + " Bytes\nBackend Average Latency:    " + div(latency, requests)
                            + " millis\n\nBlock Sizes/millis:\n");
                    for (String size : SIZES) {
                        out.print(pad(size, 8));
                    }
                    out.println();
                    for (int i = 0; i < SIZES.length; i++) {
                        long hits = now.path("read_count_block_size_dist").path(i).asLong()
                                - last.path("read_count_block_size_dist").path(i).asLong();
                        long millis = now.path("read_cumulative_latency_millis_dist").path(i).asLong()
                                - last.path("read_cumulative_latency_millis_dist").path(i).asLong();
                        out.print(pad(Long.toString(div(millis, hits)), 8));
                    }
                    out.println();
                    out.println("<<< <<< <<< <<< <<<");
                }
                out.flush();
                last = now;
            }
        }

        private static long delta(JsonNode old, JsonNode now, String key) {
            return now.path(key).asLong() - old.path(key).asLong();
        }

        /** Rust's {@code checked_div(..).unwrap_or_default()}: 0 when dividing by zero. */
        private static long div(long a, long b) {
            return b == 0 ? 0 : a / b;
        }

        private static String pad(String s, int width) {
            return String.format("%-" + width + "s", s);
        }

        /** A float as Rust's Display prints it: shortest round-trip digits, never an exponent; NaN, inf, -inf. */
        static String rustFloat(double d) {
            if (Double.isNaN(d)) {
                return "NaN";
            }
            if (Double.isInfinite(d)) {
                return d > 0 ? "inf" : "-inf";
            }
            if (d == Math.rint(d) && Math.abs(d) < 1e15) {
                return Long.toString((long) d);
            }
            return new java.math.BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString();
        }

        private static void backend(JsonNode m, PrintWriter out) {
            out.print("\nBackend Type:       " + m.path("backend_type")
                    + "\nRead Amount:        " + m.path("read_amount_total") + " Bytes ("
                    + rustFloat(m.path("read_amount_total").asDouble() / 1024.0 / 1024.0) + " MB)"
                    + "\nRead Count:         " + m.path("read_count")
                    + "\nRead Errors:        " + m.path("read_errors") + "\n");
            sizesHeader(out);
            out.print(pad("Average Latency(millis):", 25));
            for (int i = 0; i < SIZES.length; i++) {
                out.print(pad(Long.toString(div(m.path("read_cumulative_latency_millis_dist").path(i).asLong(),
                        m.path("read_count_block_size_dist").path(i).asLong())), 8));
            }
            out.println();
            sizesHeader(out);
            out.print(pad("Request Count:", 25));
            for (int i = 0; i < SIZES.length; i++) {
                out.print(pad(Long.toString(m.path("read_count_block_size_dist").path(i).asLong()), 8));
            }
            out.println();
        }

        private static void sizesHeader(PrintWriter out) {
            StringBuilder b = new StringBuilder("\n").append(pad("Block Sizes:", 25));
            for (String size : SIZES) {
                b.append(pad(size, 8));
            }
            out.println(b);
        }

        private static void cache(JsonNode m, PrintWriter out) {
            double duration = m.path("prefetch_end_time_secs").asDouble()
                    + m.path("prefetch_end_time_millis").asDouble() / 1000.0
                    - (m.path("prefetch_begin_time_secs").asDouble()
                    + m.path("prefetch_begin_time_millis").asDouble() / 1000.0);
            double amount = m.path("prefetch_data_amount").asDouble();
            long requests = m.path("prefetch_requests_count").asLong();
            out.print("\nPartial Hits:               " + m.path("partial_hits")
                    + "\nWhole Hits:                 " + m.path("whole_hits")
                    + "\nTotal Read:                 " + m.path("total")
                    + "\nDirectory:                  " + m.path("store_path")
                    + "\nFiles:                      " + m.path("underlying_files")
                    + "\nPersister Buffer:           " + m.path("buffered_backend_size")
                    + "\n\nPrefetch Workers:           " + m.path("prefetch_workers")
                    + "\nPrefetch Amount:            " + rustFloat(amount) + " = " + rustFloat(amount / 1024.0) + " KB"
                    + "\nPrefetch Requests:          " + m.path("prefetch_requests_count")
                    + "\nPrefetch Average Size:      " + div(m.path("prefetch_data_amount").asLong(), requests) + " Bytes"
                    + "\nPrefetch Duration:          " + rustFloat(duration) + " Seconds"
                    + "\nPrefetch Bandwidth:         " + rustFloat(amount / 1024.0 / 1024.0 / duration) + " MB/S"
                    + "\nPrefetch Request Latency:   "
                    + rustFloat(m.path("prefetch_cumulative_time_millis").asDouble() / requests / 1000.0) + " Seconds"
                    + "\nPrefetch Unmerged:          " + m.path("prefetch_unmerged_chunks") + "\n");
        }

        private static final String[] PERIODS = {"<1ms", "~20ms", "~50ms", "~100ms", "~500ms", "~1s", "~2s", "2s~"};

        private static void fsstats(JsonNode m, PrintWriter out) {
            StringBuilder b = new StringBuilder("\n").append(pad("Read Latency:", 16));
            for (String p : PERIODS) {
                b.append(pad(p, 8));
            }
            out.println(b);
            out.print(pad("Reads Count:", 16));
            for (JsonNode d : m.path("read_latency_dist")) {
                out.print(pad(Long.toString(d.asLong()), 8));
            }
            out.println("\n");
            JsonNode hits = m.path("fop_hits");
            out.println("Read Errors: " + m.path("fop_errors").path(4));
            long data = m.path("data_read").asLong();
            out.println("Read Data: " + data + "Bytes (" + data / 1024 / 1024 + "MB)");
            out.printf("%nFOP Counters:%nGetattr(%s) Readlink(%s) Open(%s) Release(%s) Read(%s) Statfs(%s) Getxattr(%s)"
                            + " Listxattr(%s)%nOpendir(%s) Lookup(%s) Readdir(%s) Readdirplus(%s) Access(%s) Forget(%s)"
                            + " BatchForget(%s)%n", hits.path(0), hits.path(1), hits.path(2), hits.path(3), hits.path(4),
                    hits.path(5), hits.path(6), hits.path(7), hits.path(8), hits.path(9), hits.path(10), hits.path(11),
                    hits.path(12), hits.path(13), hits.path(14));
        }

        /** Per-inode counters; fop_hits indexes as upstream: 2 = open, 4 = read. */
        private static void files(JsonNode n, PrintWriter out) {
            if (n.isEmpty()) {
                out.println("no per-file counters (enable rafs.iostats_files in the daemon's config)");
                return;
            }
            out.printf("%-12s %12s %14s %8s %8s %8s%n", "Inode", "Total fops", "Data read", "Opens", "Reads",
                    "Errors");
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                var e = it.next();
                JsonNode f = e.getValue();
                long errors = 0;
                for (JsonNode x : f.path("fop_errors")) {
                    errors += x.asLong();
                }
                out.printf("%-12s %12d %14d %8d %8d %8d%n", e.getKey(), f.path("total_fops").asLong(),
                        f.path("data_read").asLong(), f.path("fop_hits").path(2).asLong(),
                        f.path("fop_hits").path(4).asLong(), errors);
            }
        }

        private static void pattern(JsonNode n, PrintWriter out) {
            if (n.isEmpty()) {
                out.println("no access pattern (enable rafs.access_pattern in the daemon's config)");
                return;
            }
            out.printf("%-12s %8s  %s%n", "Inode", "Reads", "First access (UTC)");
            for (JsonNode p : n) {
                out.printf("%-12d %8d  %s%n", p.path("ino").asLong(), p.path("nr_read").asLong(),
                        java.time.Instant.ofEpochSecond(p.path("first_access_time_secs").asLong(),
                                p.path("first_access_time_nanos").asLong()));
            }
        }
    }

    @Command(name = "mount", description = "Mount an image into the daemon at a virtual mountpoint.")
    static final class Mount implements Callable<Integer> {
        @CommandLine.ParentCommand
        NydusctlCommand top;
        @Option(names = {"-s", "--source"}, required = true, description = "Bootstrap file.")
        String source;
        @Option(names = {"-c", "--config"}, required = true, description = "nydusd config file.")
        Path config;
        @Option(names = {"-m", "--mountpoint"}, required = true, description = "Virtual mountpoint, e.g. /sub.")
        String mountpoint;
        @Option(names = {"-t", "--type"}, defaultValue = "rafs", description = "rafs (default) or passthrough_fs.")
        String type;

        @Override
        public Integer call() throws IOException {
            String body = JSON.writeValueAsString(Map.of("source", source, "fs_type", type, "config",
                    Files.readString(config, StandardCharsets.UTF_8)));
            top.call("POST", "/api/v1/mount?mountpoint=" + URLEncoder.encode(mountpoint, StandardCharsets.UTF_8), body);
            return 0;
        }
    }

    @Command(name = "umount", description = "Unmount a virtual mountpoint of the daemon.")
    static final class Umount implements Callable<Integer> {
        @CommandLine.ParentCommand
        NydusctlCommand top;
        @Option(names = {"-m", "--mountpoint"}, required = true)
        String mountpoint;

        @Override
        public Integer call() throws IOException {
            top.call("DELETE", "/api/v1/mount?mountpoint=" + URLEncoder.encode(mountpoint, StandardCharsets.UTF_8),
                    null);
            return 0;
        }
    }

    /** {@code --version}: the same block as nydusd's and nydus-image's ({@code Version: v...}). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return dev.nydus4j.cli.VersionInfo.versionLines("nydusctl");
        }
    }

    /** Parses and runs one command line; returns the exit code. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return ErrorReporter.configure(new CommandLine(new NydusctlCommand()), out, err).execute(args);
    }
}
