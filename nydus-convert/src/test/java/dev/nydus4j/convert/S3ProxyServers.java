package dev.nydus4j.convert;

import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.blobstore.BlobStore;

import java.net.URI;

import static org.assertj.core.api.Assertions.assertThat;

/** Starts in-process s3proxy servers on 127.0.0.1 with a free port, as the object-storage tests need them. */
final class S3ProxyServers {
    private static final long START_TIMEOUT_NANOS = 30_000_000_000L;

    private S3ProxyServers() {
    }

    /** An S3 endpoint that checks AWS V2/V4 signatures made with the given key pair. */
    static S3Proxy s3(BlobStore store, String accessKey, String secret) throws Exception {
        return started(S3Proxy.builder().blobStore(store).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secret).build());
    }

    /**
     * An OSS stand-in: no authentication (s3proxy then serves OSS-signed requests, TESTING.md 3.1) and
     * virtual-hosted buckets ({@code <bucket>.localhost:<port>}, which resolves to loopback).
     */
    static S3Proxy ossStandIn(BlobStore store) throws Exception {
        return started(S3Proxy.builder().blobStore(store).endpoint(URI.create("http://127.0.0.1:0"))
                .virtualHost("localhost").awsAuthentication(AuthenticationType.NONE, "", "").build());
    }

    private static S3Proxy started(S3Proxy proxy) throws Exception {
        proxy.start();
        long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
        while (!"STARTED".equals(proxy.getState())) {
            assertThat(System.nanoTime()).as("s3proxy starts").isLessThan(deadline);
            Thread.sleep(20);
        }
        return proxy;
    }
}
