package dev.nydus4j.backend.oss;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * An in-process s3proxy with {@code authorization=none} serving the OSS data plane (TESTING.md 3.1): virtual-hosted
 * buckets under {@code localhost}, so {@code http://<bucket>.localhost:<port>/<key>} reaches bucket {@code <bucket>}.
 */
final class OssProxyServer implements AutoCloseable {
    private final S3Proxy proxy;
    private final HttpClient client = HttpClient.newHttpClient();

    OssProxyServer(String... buckets) throws Exception {
        TransientNio2BlobStore store = new TransientNio2BlobStore();
        for (String b : buckets) {
            store.createContainer(b);
        }
        proxy = S3Proxy.builder().blobStore(store).endpoint(URI.create("http://127.0.0.1:0")).virtualHost("localhost")
                .awsAuthentication(AuthenticationType.NONE, "", "").build();
        proxy.start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("s3proxy did not start: " + proxy.getState());
            }
            Thread.sleep(20);
        }
    }

    /** {@code localhost:<port>}, the {@code endpoint} of an oss config. */
    String endpoint() {
        return "localhost:" + proxy.getPort();
    }

    /** Uploads an object with a path-style PUT. */
    void put(String bucket, String key, byte[] body) throws Exception {
        // Host "localhost" is the virtual-host root itself, so the path names the bucket
        URI uri = URI.create("http://localhost:" + proxy.getPort() + "/" + bucket + "/" + key);
        HttpRequest req = HttpRequest.newBuilder(uri).PUT(HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Content-Type", "application/octet-stream").build();
        HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("PUT " + uri + " -> " + r.statusCode() + " " + r.body());
        }
    }

    @Override
    public void close() throws Exception {
        proxy.stop();
    }
}
