package dev.nydus4j.backend.registry;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** WWW-Authenticate challenges (RFC 7235) and image references. */
class ParsersTest {

    @Test
    void bearerChallengeWithQuotedCommasAndEscapes() {
        AuthChallenge c = AuthChallenge.parse("Bearer realm=\"https://auth.example.com/token\",service=\"registry"
                + ".example.com\",scope=\"repository:a/b:pull,push\",error=\"say \\\"hi\\\", ok\"").orElseThrow();
        assertThat(c.isBearer()).isTrue();
        assertThat(c.params()).containsExactlyInAnyOrderEntriesOf(Map.of(
                "realm", "https://auth.example.com/token", "service", "registry.example.com",
                "scope", "repository:a/b:pull,push", "error", "say \"hi\", ok"));
    }

    @Test
    void basicAndOddChallenges() {
        assertThat(AuthChallenge.parse("Basic realm=\"harbor\"").orElseThrow().isBasic()).isTrue();
        assertThat(AuthChallenge.parse("BASIC realm=x, charset=UTF-8").orElseThrow().params())
                .containsEntry("realm", "x").containsEntry("charset", "UTF-8");
        assertThat(AuthChallenge.parse("Bearer realm=\"unterminated")).isEmpty();
        assertThat(AuthChallenge.parse("")).isEmpty();
        assertThat(AuthChallenge.parse(null)).isEmpty();
    }

    @Test
    void imageReferencesNormaliseLikeDocker() {
        assertThat(ImageReference.parse("ubuntu")).isEqualTo(new ImageReference("index.docker.io", "library/ubuntu",
                "latest", ""));
        assertThat(ImageReference.parse("docker.io/org/app:1.0").toString()).isEqualTo("index.docker.io/org/app:1.0");
        assertThat(ImageReference.parse("localhost:5000/a/b:tag")).isEqualTo(new ImageReference("localhost:5000", "a/b",
                "tag", ""));
        assertThat(ImageReference.parse("localhost/a")).isEqualTo(new ImageReference("localhost", "a", "latest", ""));
        String d = "sha256:" + "0123456789abcdef".repeat(4);
        ImageReference pinned = ImageReference.parse("127.0.0.1:5000/x/y@" + d);
        assertThat(pinned.tag()).isEmpty();
        assertThat(pinned.manifestReference()).isEqualTo(d);
        assertThat(ImageReference.parse("quay.io/ns/app:v1@" + d).manifestReference()).isEqualTo(d);
        assertThatThrownBy(() -> ImageReference.parse("Upper/Case")).hasMessageContaining("invalid repository");
        assertThatThrownBy(() -> ImageReference.parse("a@sha256:xyz")).hasMessageContaining("invalid digest");
        assertThatThrownBy(() -> ImageReference.parse("a:bad tag")).isInstanceOf(IllegalArgumentException.class);
    }
}
