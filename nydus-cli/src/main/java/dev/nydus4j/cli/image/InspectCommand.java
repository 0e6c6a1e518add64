package dev.nydus4j.cli.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.nydus4j.rafs.tree.RafsTree;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code nydus-image inspect}: answers questions about a bootstrap, either one request given with {@code -R} (JSON on
 * stdout) or a line prompt on stdin (API spec 4.4).
 */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Inspect a RAFS bootstrap: -R \"stats|ls|cd DIR|stat NAME|blobs|prefetch|icheck INO|chunk OFFSET\", "
                + "or an interactive prompt reading stdin.")
final class InspectCommand implements Callable<Integer> {

    @ParentCommand
    NydusImageCommand parent;

    @Spec
    CommandSpec spec;

    @ArgGroup(multiplicity = "1")
    Target target;

    static final class Target {
        @Parameters(index = "0", paramLabel = "BOOTSTRAP", description = "Bootstrap (or blob with inlined metadata).")
        Path positional;

        @Option(names = {"-B", "--bootstrap"}, paramLabel = "FILE", description = "Bootstrap (deprecated form).")
        Path option;

        Path path() {
            return positional != null ? positional : option;
        }
    }

    @Option(names = {"-R", "--request"}, paramLabel = "CMD", description = "Run one command and print its JSON answer.")
    String request;

    @Option(names = {"-D", "--blob-dir"}, paramLabel = "DIR", description = "Blob directory (accepted for compatibility).")
    Path blobDir;

    @Option(names = {"-C", "--config"}, paramLabel = "FILE", description = "Backend config (accepted for compatibility).")
    Path config;

    @Override
    public Integer call() throws IOException {
        RafsTree tree = BootstrapSource.load(target.path());
        InspectSession session = new InspectSession(tree, BootstrapSource.version(target.path()));
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        if (request != null) {
            out.println(json.writeValueAsString(session.execute(request)));
            out.flush();
            return 0;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(parent.stdin(), StandardCharsets.UTF_8));
        while (true) {
            out.print("Inspecting Rafs :> ");
            out.flush();
            String line = in.readLine();
            if (line == null) {
                out.println();
                break;
            }
            line = line.trim();
            if (line.isEmpty()) {
                continue;
            }
            if (line.equals("exit") || line.equals("q")) {
                break;
            }
            try {
                out.println(json.writeValueAsString(session.execute(line)));
            } catch (IllegalArgumentException e) {
                out.println("error: " + e.getMessage());
            }
            out.flush();
        }
        out.flush();
        return 0;
    }
}
