package dev.nydus4j.backend.oss;

import dev.nydus4j.backend.objectstorage.ConnectionLimits;
import dev.nydus4j.backend.objectstorage.ProxyConfig;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * {@code oss} backend keys (CONFIG.md 5.1, 5.3, 6). Objects are addressed virtual-hosted style,
 * {@code <scheme>://<bucket_name>.<endpoint>/<object_prefix><blob id>}. {@link #toString()} never shows the secret.
 *
 * @param endpoint           host[:port] without scheme or bucket, e.g. {@code oss-cn-hangzhou.aliyuncs.com}
 * @param bucketName         bucket, the first label of the URL host
 * @param objectPrefix       prepended verbatim to the blob id
 * @param scheme             {@code http} or {@code https} (empty = https)
 * @param accessKeyId        V1 signing key id
 * @param accessKeySecret    V1 signing secret
 * @param skipVerify         trust any certificate and host name
 * @param caCertFiles        PEM files trusted in addition to the system roots
 * @param timeoutSecs        whole-request timeout, 0 = none
 * @param connectTimeoutSecs connect timeout, 0 = none
 * @param retryLimit         read retry count (the core's retry wrapper applies it)
 * @param proxy              forward proxy / dfdaemon
 */
public record OssConfig(String endpoint, String bucketName, String objectPrefix, String scheme, String accessKeyId,
                        String accessKeySecret, boolean skipVerify, List<String> caCertFiles, int timeoutSecs,
                        int connectTimeoutSecs, int retryLimit, ProxyConfig proxy) {

    @JsonCreator
    public OssConfig(@JsonProperty("endpoint") String endpoint,
                     @JsonProperty("bucket_name") String bucketName,
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
        this(endpoint, bucketName, objectPrefix, scheme, accessKeyId, accessKeySecret,
                skipVerify != null && skipVerify, caCertFiles, timeoutSecs == null ? 5 : timeoutSecs,
                connectTimeoutSecs == null ? 5 : connectTimeoutSecs, retryLimit == null ? 0 : retryLimit, proxy);
    }

    public OssConfig {
        endpoint = trim(endpoint);
        bucketName = trim(bucketName);
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
    public static OssConfig of(String scheme, String endpoint, String bucketName, String objectPrefix,
                               String accessKeyId, String accessKeySecret) {
        return new OssConfig(endpoint, bucketName, objectPrefix, scheme, accessKeyId, accessKeySecret, false,
                List.of(), 5, 5, 0, ProxyConfig.NONE);
    }

    /** Checks the keys a blob needs; throws IllegalArgumentException naming the key. */
    void check() {
        if (endpoint.isEmpty() || endpoint.contains("://") || endpoint.contains("/")) {
            throw new IllegalArgumentException("oss backend: 'endpoint' is required as host[:port] without scheme,"
                    + " bucket or path (e.g. oss-cn-hangzhou.aliyuncs.com), got '" + endpoint + "'");
        }
        if (bucketName.isEmpty() || bucketName.contains("/") || bucketName.contains(".")) {
            throw new IllegalArgumentException("oss backend: 'bucket_name' is required and holds no '/' or '.', got '"
                    + bucketName + "'");
        }
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("oss backend: 'scheme' must be http or https, got '" + scheme + "'");
        }
    }

    @Override
    public String toString() {
        return "OssConfig[endpoint=" + endpoint + ", bucket_name=" + bucketName + ", object_prefix=" + objectPrefix
                + ", scheme=" + scheme + ", access_key_id=" + accessKeyId
                + ", access_key_secret=" + (accessKeySecret.isEmpty() ? "" : "<redacted>")
                + ", skip_verify=" + skipVerify + ", ca_cert_files=" + caCertFiles + ", timeout=" + timeoutSecs
                + ", connect_timeout=" + connectTimeoutSecs + ", retry_limit=" + retryLimit + ", proxy=" + proxy + "]";
    }

    private static String trim(String s) {
        return s == null ? "" : s.trim();
    }
}
