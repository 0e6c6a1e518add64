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
@Command(name = "nydusctl", mixinStandardHelpOptions = true, description = "Queries and controls a running nydusd.",
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
                JsonNode v = n.path("version");
                out.printf("Version:        %s%n", v.path("package_ver").asText());
                out.printf("Git Commit:     %s%n", v.path("git_commit").asText());
                out.printf("Build Time:     %s%n", v.path("build_time").asText());
                out.printf("Profile:        %s%n", v.path("profile").asText());
                out.printf("State:          %s%n", n.path("state").asText());
                out.printf("ID:             %s%n", n.path("id").isNull() ? "" : n.path("id").asText());
                for (Iterator<Map.Entry<String, JsonNode>> it = n.path("backend_collection").fields(); it.hasNext(); ) {
                    JsonNode b = it.next().getValue();
                    JsonNode rafs = b.path("config").path("rafs");
                    out.printf("Instance:       %s (%s, mounted %s, mode %s, prefetch %s, backend %s)%n",
                            b.path("mountpoint").asText(), b.path("backend_type").asText(),
                            b.path("mounted_time").asText(), rafs.path("mode").asText(),
                            rafs.path("prefetch").path("enable").asBoolean(),
                            b.path("config").path("backend").path("type").asText());
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
            JsonNode previous = null;
            do {
                String body = top.call("GET", path, null);
                if (interval > 0 && kind.equals("backend") && !top.raw) {
                    JsonNode now = JSON.readTree(body);
                    if (previous != null) {
                        long dc = now.path("read_count").asLong() - previous.path("read_count").asLong();
                        long db = now.path("read_amount_total").asLong() - previous.path("read_amount_total").asLong();
                        top.out().printf("reads/s %.1f  bytes/s %.0f%n", dc / (double) interval, db / (double) interval);
                    }
                    previous = now;
                } else if (kind.equals("files") && !latest) {
                    top.print(body, Metrics::files);
                } else if (kind.equals("pattern")) {
                    top.print(body, Metrics::pattern);
                } else {
                    top.print(body, (n, out) -> table(n, out, ""));
                }
                top.out().flush();
                if (interval > 0) {
                    Thread.sleep(interval * 1000L);
                }
            } while (interval > 0);
            return 0;
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

        private static void table(JsonNode n, PrintWriter out, String prefix) {
            if (n.isArray() && n.size() > 0 && !n.get(0).isContainerNode()) {
                out.printf("%-40s %s%n", prefix, n);
                return;
            }
            if (n.isObject()) {
                for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                    var e = it.next();
                    String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
                    if (e.getValue().isObject()) {
                        table(e.getValue(), out, key);
                    } else {
                        out.printf("%-40s %s%n", key, e.getValue().isTextual() ? e.getValue().asText() : e.getValue());
                    }
                }
            } else {
                out.println(n);
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

    /** Parses and runs one command line; returns the exit code. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return ErrorReporter.configure(new CommandLine(new NydusctlCommand()), out, err).execute(args);
    }
}
