package dev.nydus4j.backend.s3;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.TreeMap;

/** An in-process s3proxy (TESTING.md 3.1) on 127.0.0.1 with a free port, in-memory store, SigV4 enforced. */
final class S3ProxyServer implements AutoCloseable {
    static final String ACCESS_KEY = "testak";
    static final String SECRET = "testsk-0123456789";
    static final String REGION = "us-east-1";

    private final S3Proxy proxy;
    private final HttpClient client = HttpClient.newHttpClient();

    S3ProxyServer(String... buckets) throws Exception {
        TransientNio2BlobStore store = new TransientNio2BlobStore();
        for (String b : buckets) {
            store.createContainer(b);
        }
        proxy = S3Proxy.builder().blobStore(store).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET).build();
        proxy.start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("s3proxy did not start: " + proxy.getState());
            }
            Thread.sleep(20);
        }
    }

    /** {@code 127.0.0.1:<port>}, the {@code endpoint} of an s3 config. */
    String endpoint() {
        return "127.0.0.1:" + proxy.getPort();
    }

    /** Uploads an object with our own SigV4-signed PUT (payload hash of the body). */
    void put(String bucket, String key, byte[] body) throws Exception {
        URI uri = URI.create("http://" + endpoint() + "/" + bucket + "/" + SigV4.encodePath(key));
        String amzDate = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").format(ZonedDateTime.now(ZoneOffset.UTC));
        String payload = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        TreeMap<String, String> h = new TreeMap<>();
        h.put("host", uri.getRawAuthority());
        h.put("x-amz-content-sha256", payload);
        h.put("x-amz-date", amzDate);
        SigV4.Signature s = SigV4.sign("PUT", uri.getRawPath(), "", h, payload, ACCESS_KEY, SECRET, REGION, "s3",
                amzDate);
        HttpRequest req = HttpRequest.newBuilder(uri).PUT(HttpRequest.BodyPublishers.ofByteArray(body))
                .header("x-amz-content-sha256", payload).header("x-amz-date", amzDate)
                .header("Content-Type", "application/octet-stream").header("Authorization", s.authorization()).build();
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
