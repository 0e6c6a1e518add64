package dev.nydus4j.cli;

import dev.nydus4j.cli.image.NydusImageCommand;
import dev.nydus4j.cli.nydusctl.NydusctlCommand;
import dev.nydus4j.cli.nydusd.NydusdCommand;
import dev.nydus4j.cli.nydusd.StartupWarmUp;
import dev.nydus4j.convert.cli.NydusifyCommand;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.snapshotter.cli.ContainerdNydusGrpc;
import dev.nydus4j.snapshotter.cli.NydusOverlayfs;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Entry point of the shaded jar {@code nydus4j-cli.jar}. The first argument names the tool (as the bin/ launchers
 * pass it, or as a symlink name such as {@code /usr/local/bin/nydus-image}), the rest goes to that tool, so one jar
 * serves every command line program of the distribution.
 */
public final class Main {
    /** Tools by name; later tools (nydusd, nydusctl, nydusify, ...) register here. */
    private static final Map<String, Function<String[], Integer>> TOOLS = new TreeMap<>(Map.of(
            "nydus-image", args -> {
                preloadCodecsFor(args, "create");
                return NydusImageCommand.execute(args, stdout(), stderr());
            },
            "nydusd", args -> {
                StartupWarmUp.start(); // before NydusdCommand's class (and slf4j) is initialised on this thread
                return NydusdCommand.execute(args, stdout(), stderr());
            },
            "nydusctl", args -> NydusctlCommand.execute(args, stdout(), stderr()),
            "containerd-nydus-grpc", args -> ContainerdNydusGrpc.execute(args, stdout(), stderr()),
            "nydus-overlayfs", args -> NydusOverlayfs.execute(args, stdout(), stderr()),
            "nydusify", args -> {
                preloadCodecsFor(args, "convert");
                return NydusifyCommand.execute(args, stdout(), stderr());
            }));

    /** For a subcommand that builds images, loads the native codecs on a daemon thread meanwhile. */
    private static void preloadCodecsFor(String[] args, String buildingCommand) {
        if (Arrays.asList(args).contains(buildingCommand)) {
            Thread t = new Thread(ImageBuilder::preloadNativeCodecs, "codec-preload");
            t.setDaemon(true);
            t.start();
        }
    }

    private static PrintWriter stdout() {
        return new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    }

    private static PrintWriter stderr() {
        return new PrintWriter(System.err, true, StandardCharsets.UTF_8);
    }

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one tool and returns its exit code (never calls {@code System.exit}). */
    public static int run(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: java -jar nydus4j-cli.jar <tool> [arguments]; tools: " + String.join(", ", TOOLS.keySet()));
            return 1;
        }
        String tool = args[0];
        int slash = tool.lastIndexOf('/');
        if (slash >= 0) {
            tool = tool.substring(slash + 1);
        }
        Function<String[], Integer> entry = TOOLS.get(tool);
        if (entry == null) {
            System.err.println("error: unknown tool '" + args[0] + "'; tools: " + String.join(", ", TOOLS.keySet()));
            return 1;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        LogSettings.configure(tool, rest);
        return entry.apply(rest);
    }
}
