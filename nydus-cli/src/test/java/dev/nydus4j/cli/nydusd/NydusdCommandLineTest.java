package dev.nydus4j.cli.nydusd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The legacy form is parsed with a model without subcommands ({@link NydusdCommand#execute}); every command line
 * must behave exactly as with the full model: same exit code, same output. Only command lines that stop before a
 * mount are run here (the FUSE tests mount through the same entry).
 */
class NydusdCommandLineTest {
    private record Run(int code, String out, String err) {
    }

    private interface Entry {
        int run(String[] args, PrintWriter out, PrintWriter err);
    }

    private static Run run(Entry e, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = e.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void answersLikeTheFullModel(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");
        List<String[]> lines = List.of(
                new String[] {"--help"}, new String[] {"-h"}, new String[] {"--version"}, new String[] {"-V"},
                new String[] {"-hV"}, new String[] {"fuse", "--help"}, new String[] {"--bogus"},
                new String[] {"fusee"}, new String[] {"--mountpoint"}, new String[] {"singleton"},
                new String[] {"--bootstrap", tmp.resolve("boot").toString(), "-D", tmp.toString()},
                new String[] {"--mountpoint", tmp.toString(), "--thread-num", "0"},
                new String[] {"--mountpoint", tmp.toString(), "--failover-policy", "sometimes"},
                new String[] {"--mountpoint", tmp.toString(), "--upgrade"},
                new String[] {"--mountpoint", tmp.toString(), "--prefetch-files", file.toString()},
                new String[] {"--mountpoint", tmp.toString(), "--config", file.toString(), "-D", tmp.toString()});
        for (String[] args : lines) {
            Run lean = run(NydusdCommand::execute, args);
            Run full = run(NydusdCommand::executeFull, args);
            assertThat(lean).as("nydusd %s", String.join(" ", args)).isEqualTo(full);
            assertThat(lean.out + lean.err).as("nydusd %s says something", String.join(" ", args)).isNotBlank();
        }
    }

    @Test
    void anIgnoredDedupDbIsWarnedAbout() {
        NydusdCommand.Options o = new NydusdCommand.Options();
        assertThat(NydusdCommand.ignoredOptionWarnings(o)).isEmpty();
        NydusdCommand.Legacy legacy = new NydusdCommand.Legacy();
        new picocli.CommandLine(legacy).parseArgs("--mountpoint", "/m", "--dedup-db", "/tmp/cas.db");
        assertThat(NydusdCommand.ignoredOptionWarnings(legacy.options)).singleElement().asString()
                .startsWith("--dedup-db /tmp/cas.db: ").contains("not supported by nydus4j").contains("ignored");
    }

    @Test
    void onlyPlainLegacyCommandLinesTakeTheLeanModel() {
        assertThat(NydusdCommand.mentionsFullModel(new String[] {"--bootstrap", "b", "--mountpoint", "m", "-D", "d"}))
                .isFalse();
        assertThat(NydusdCommand.mentionsFullModel(new String[] {"-l", "warn", "--thread-num", "4"})).isFalse();
        for (String a : List.of("fuse", "singleton", "virtiofs", "uffd", "nbd", "-h", "--help", "-V", "--version",
                "-hV", "-Vh")) {
            assertThat(NydusdCommand.mentionsFullModel(new String[] {"--mountpoint", "m", a})).as(a).isTrue();
        }
    }
}
