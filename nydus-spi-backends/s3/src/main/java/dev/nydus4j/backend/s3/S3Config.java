package dev.nydus4j.backend.s3;

import dev.nydus4j.backend.objectstorage.ConnectionLimits;
import dev.nydus4j.backend.objectstorage.ProxyConfig;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * {@code s3} backend keys (CONFIG.md 5.1, 5.4, 6). Objects are addressed path style,
 * {@code <scheme>://<endpoint>/<bucket_name>/<object_prefix><blob id>}. {@link #toString()} never shows the secret.
 *
 * @param region             SigV4 region
 * @param bucketName         bucket
 * @param endpoint           host[:port] without scheme; empty selects {@code s3.amazonaws.com}
 * @param objectPrefix       prepended verbatim to the blob id
 * @param scheme             {@code http} or {@code https} (empty = https)
 * @param accessKeyId        SigV4 access key id
 * @param accessKeySecret    SigV4 secret
 * @param skipVerify         trust any certificate and host name
 * @param caCertFiles        PEM files trusted in addition to the system roots
 * @param timeoutSecs        whole-request timeout, 0 = none
 * @param connectTimeoutSecs connect timeout, 0 = none
 * @param retryLimit         read retry count (the core's retry wrapper applies it)
 * @param proxy              forward proxy / dfdaemon
 */
public record S3Config(String region, String bucketName, String endpoint, String objectPrefix, String scheme,
                       String accessKeyId, String accessKeySecret, boolean skipVerify, List<String> caCertFiles,
                       int timeoutSecs, int connectTimeoutSecs, int retryLimit, ProxyConfig proxy) {

    static final String DEFAULT_ENDPOINT = "s3.amazonaws.com";

    @JsonCreator
    public S3Config(@JsonProperty("region") String region,
                    @JsonProperty("bucket_name") String bucketName,
                    @JsonProperty("endpoint") String endpoint,
                    @JsonProperty("object_prefix") String objectPrefix,
                    @JsonProperty("scheme") String scheme,
                    @JsonProperty("access_key_id") String accessKeyId,
                    @JsonProperty("access_key_secret") String accessKeySecret,
                    @JsonProperty("skip_verify") Boolean skipVerify,
                    @JsonProperty("ca_cert_files") List<String> caCertFiles,
                    @JsonProperty("timeout") Integer timeoutSecs,
                    @JsonProperty("connect_timeout") Integer connectTimeoutSecs,
                    @JsonProperty("retry_limit") Integer retryLimit,
                    @JsonProperty("proxy") ProxyConfig proxy) {
        this(region, bucketName, endpoint, objectPrefix, scheme, accessKeyId, accessKeySecret,
                skipVerify != null && skipVerify, caCertFiles, timeoutSecs == null ? 5 : timeoutSecs,
                connectTimeoutSecs == null ? 5 : connectTimeoutSecs, retryLimit == null ? 0 : retryLimit, proxy);
    }

    public S3Config {
        region = trim(region);
        bucketName = trim(bucketName);
        endpoint = trim(endpoint);
        if (endpoint.isEmpty()) {
            endpoint = DEFAULT_ENDPOINT;
        }
        objectPrefix = objectPrefix == null ? "" : objectPrefix;
        scheme = trim(scheme);
        if (scheme.isEmpty()) {
            scheme = "https";
        }
        accessKeyId = accessKeyId == null ? "" : accessKeyId;
        accessKeySecret = accessKeySecret == null ? "" : accessKeySecret;
        caCertFiles = caCertFiles == null ? List.of() : List.copyOf(caCertFiles);
        proxy = proxy == null ? ProxyConfig.NONE : proxy;
        ConnectionLimits.check(timeoutSecs, connectTimeoutSecs, retryLimit);
    }

    /** A config for a bucket at {@code endpoint} with every other key at its default. */
    public static S3Config of(String scheme, String endpoint, String region, String bucketName, String objectPrefix,
                              String accessKeyId, String accessKeySecret) {
        return new S3Config(region, bucketName, endpoint, objectPrefix, scheme, accessKeyId, accessKeySecret, false,
                List.of(), 5, 5, 0, ProxyConfig.NONE);
    }

    /** Checks the keys a blob needs; throws IllegalArgumentException naming the key. */
    void check() {
        if (region.isEmpty()) {
            throw new IllegalArgumentException("s3 backend: 'region' is required (e.g. us-east-1)");
        }
        if (bucketName.isEmpty() || bucketName.contains("/")) {
            throw new IllegalArgumentException("s3 backend: 'bucket_name' is required and holds no '/', got '"
                    + bucketName + "'");
        }
        if (endpoint.contains("://") || endpoint.contains("/")) {
            throw new IllegalArgumentException("s3 backend: 'endpoint' must be host[:port] without scheme or path, got '"
                    + endpoint + "'");
        }
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("s3 backend: 'scheme' must be http or https, got '" + scheme + "'");
        }
    }

    @Override
    public String toString() {
        return "S3Config[region=" + region + ", bucket_name=" + bucketName + ", endpoint=" + endpoint
                + ", object_prefix=" + objectPrefix + ", scheme=" + scheme + ", access_key_id=" + accessKeyId
                + ", access_key_secret=" + (accessKeySecret.isEmpty() ? "" : "<redacted>")
                + ", skip_verify=" + skipVerify + ", ca_cert_files=" + caCertFiles + ", timeout=" + timeoutSecs
                + ", connect_timeout=" + connectTimeoutSecs + ", retry_limit=" + retryLimit + ", proxy=" + proxy + "]";
    }

    private static String trim(String s) {
        return s == null ? "" : s.trim();
    }
}
