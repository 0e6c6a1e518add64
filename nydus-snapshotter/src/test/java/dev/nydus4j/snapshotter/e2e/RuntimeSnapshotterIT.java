package dev.nydus4j.snapshotter.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.snapshotter.SnapshotterConfig;
import dev.nydus4j.snapshotter.proto.cri.ContainerStatus;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The seed's runtime-level set-up on Debian's containerd 1.6.20: overlayfs stays CRI's default snapshotter and
 * runtime {@code nydus-runc} says {@code snapshotter = "nydus"}; pods ask for it with runtime handler
 * {@code nydus-runc} and the sandbox annotation {@code io.containerd.cri.runtime-handler: nydus-runc}. This class
 * records, step by step, that containerd 1.6 never hands such a pod or pull to our snapshotter (its CRI
 * {@code Runtime} struct has no {@code snapshotter} field; README "Runtime-level snapshotter"), so the acceptance
 * point is blocked on containerd >= 1.7. Each test fails as soon as a containerd honours the set-up.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RuntimeSnapshotterIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> HANDLER_ANNOTATION =
            Map.of("io.containerd.cri.runtime-handler", "nydus-runc");

    private E2eEnvironment env;

    @BeforeAll
    void setUp() throws Exception {
        env = E2eEnvironment.open(SnapshotterConfig.DaemonMode.DEDICATED, "overlayfs", List.of());
    }

    @AfterAll
    void tearDown() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @Test
    @Order(1)
    void criConfigDropsTheRuntimeSnapshotterKey() throws Exception {
        assertThat(Files.readString(env.containerd.dir.resolve("config.toml")))
                .contains("containerd.runtimes.nydus-runc]\n    runtime_type = \"io.containerd.runc.v2\"\n"
                        + "    snapshotter = \"nydus\"");
        JsonNode ctrd = JSON.readTree(env.cri.effectiveConfig()).path("containerd");
        assertThat(ctrd.path("snapshotter").asText()).isEqualTo("overlayfs");
        JsonNode runtime = ctrd.path("runtimes").path("nydus-runc");
        assertThat(runtime.path("runtimeType").asText()).isEqualTo("io.containerd.runc.v2");
        // decoded into pkg/cri/config.Runtime, which has no such field in 1.6: the key is silently gone
        assertThat(runtime.fieldNames()).toIterable().noneMatch(f -> f.toLowerCase().contains("snapshotter"));
    }

    @Test
    @Order(2)
    void nydusPullWithTheRuntimeHandlerAnnotationGoesToOverlayfs() throws Exception {
        String image = env.image("busybox-nydus");
        // PullImageRequest.sandbox_config carries the annotation; 1.6's PullImage never reads sandbox_config
        assertThatThrownBy(() -> env.cri.pull(image, HANDLER_ANNOTATION))
                .isInstanceOf(StatusRuntimeException.class)
                .hasMessageContaining("no processor for media-type")
                .hasMessageContaining(TestImages.NYDUS_BLOB_MEDIA_TYPE);
        // containerd downloaded the whole blob itself for overlayfs's applier, and never asked our snapshotter
        assertThat(env.registry.accessLines(env.images.nydusBlobDigest)).anyMatch(l -> l.contains("containerd/"));
        assertThat(nydusSnapshots()).isEmpty();
    }

    @Test
    @Order(3)
    void podWithTheRuntimeHandlerStillUsesTheDefaultSnapshotter() throws Exception {
        String image = env.image("busybox");
        env.cri.pull(image, HANDLER_ANNOTATION);
        CriClient.Pod pod = env.runPod("rt-handler", "nydus-runc", HANDLER_ANNOTATION);
        String id = env.cri.startContainer(pod, "probe", image,
                List.of("/bin/sh", "-c", "cat /etc/hello.txt; grep ' / ' /proc/self/mountinfo"));
        ContainerStatus s = env.cri.awaitExit(id, Duration.ofSeconds(60));
        String log = CriClient.logText(pod, "probe");
        assertThat(s.getExitCode()).as(log).isZero();
        JsonNode info = JSON.readTree(env.cri.verboseInfo(id));
        assertThat(info.path("runtimeType").asText()).isEqualTo("io.containerd.runc.v2");
        // CreateContainer (and RunPodSandbox) pass c.config.ContainerdConfig.Snapshotter, not the runtime's
        assertThat(info.path("snapshotter").asText()).isEqualTo("overlayfs");
        assertThat(log).contains("hello from nydus4j e2e")
                .contains("lowerdir=" + env.containerd.dir.resolve("root/io.containerd.snapshotter.v1.overlayfs"))
                .doesNotContain(env.root.toString());
        assertThat(nydusSnapshots()).isEmpty();
        assertThat(env.fuseMounts()).isEmpty();
        assertThat(env.nydusdPids()).isEmpty();
    }

    /** The snapshots our snapshotter holds for CRI's namespace (ctr prints a header line first). */
    private List<String> nydusSnapshots() throws Exception {
        return env.containerd.ctr("-n", "k8s.io", "snapshots", "--snapshotter", "nydus", "ls").lines().skip(1)
                .filter(l -> !l.isBlank()).toList();
    }
}
