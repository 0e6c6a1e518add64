package dev.nydus4j.convert;

import dev.nydus4j.testkit.oci.LayeredImage;
import dev.nydus4j.testkit.oci.LocalRegistry;
import dev.nydus4j.testkit.oci.OciTools;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * htpasswd-protected registry: credentials come from the docker config ({@code $DOCKER_CONFIG/config.json}), so
 * {@code nydusify} runs as a child JVM with that environment, as a user would run it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistryAuthTest {
    @TempDir
    static Path tmp;
    private LocalRegistry registry;

    @BeforeAll
    void start() throws Exception {
        assumeThat(LocalRegistry.available() && OciTools.available()).as("docker-registry, umoci, skopeo needed")
                .isTrue();
        Path htpasswd = tmp.resolve("htpasswd");
        Files.writeString(htpasswd, LocalRegistry.htpasswdLine("alice", "s3cret"));
        registry = LocalRegistry.start(tmp.resolve("registry"),
                "auth:\n  htpasswd: {realm: nydus4j-test, path: " + htpasswd + "}\n");
        LayeredImage img = TestImages.sharingBigFile(Files.createDirectories(tmp.resolve("img")), "latest", 3);
        OciTools.push(img.ociRef(), "docker://" + registry.host() + "/auth/app:latest", "--dest-creds", "alice:s3cret");
    }

    @AfterAll
    void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
    }

    @Test
    void rightCredentialsConvertAndCheck() throws Exception {
        Path config = dockerConfig("right", "alice:s3cret");
        String src = registry.host() + "/auth/app:latest";
        String dst = registry.host() + "/auth/app:nydus";
        Child convert = nydusify(config, "convert", "--source", src, "--target", dst, "--source-insecure",
                "--target-insecure", "--work-dir", tmp.resolve("work").toString());
        assertThat(convert.exitCode).as(convert.output).isZero();
        Child check = nydusify(config, "check", "--source", src, "--target", dst, "--source-insecure",
                "--target-insecure", "--work-dir", tmp.resolve("check").toString());
        assertThat(check.exitCode).as(check.output).isZero();
        assertThat(check.output).contains("0 difference(s)");
    }

    @Test
    void wrongCredentialsFailClearlyWithoutLeakingThePassword() throws Exception {
        Path config = dockerConfig("wrong", "alice:not-the-password");
        Child convert = nydusify(config, "convert", "--source", registry.host() + "/auth/app:latest", "--target",
                registry.host() + "/auth/app:never", "--source-insecure", "--target-insecure",
                "--work-dir", tmp.resolve("work").toString());
        assertThat(convert.exitCode).as(convert.output).isEqualTo(1);
        assertThat(convert.output).contains("ERROR:").contains("401").contains("credentials rejected")
                .doesNotContain("not-the-password");
        Child none = nydusify(dockerConfig("none", null), "convert", "--source", registry.host() + "/auth/app:latest",
                "--target", registry.host() + "/auth/app:never", "--source-insecure", "--target-insecure",
                "--work-dir", tmp.resolve("work").toString());
        assertThat(none.exitCode).as(none.output).isEqualTo(1);
        assertThat(none.output).contains("401").contains("no credentials");
    }

    private Path dockerConfig(String name, String userPass) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("docker-" + name));
        String auths = userPass == null ? "{}" : "{\"" + registry.host() + "\":{\"auth\":\""
                + Base64.getEncoder().encodeToString(userPass.getBytes(StandardCharsets.UTF_8)) + "\"}}";
        Files.writeString(dir.resolve("config.json"), "{\"auths\":" + auths + "}");
        return dir;
    }

    private record Child(int exitCode, String output) {
    }

    private static Child nydusify(Path dockerConfig, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "dev.nydus4j.convert.cli.NydusifyCommand"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("DOCKER_CONFIG", dockerConfig.toString());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("nydusify did not finish within 120 s");
        }
        return new Child(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
