package dev.nydus4j.backend.registry;

import dev.nydus4j.backend.objectstorage.ConnectionLimits;
import dev.nydus4j.backend.objectstorage.ProxyConfig;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * {@code registry} backend keys (CONFIG.md 5.1, 5.2, 6, 6.1). {@code host} and {@code repo} may be empty at bind
 * time (the snapshotter supplies them per image, CONFIG.md 12 A1); opening a blob then fails. {@code readahead}
 * and {@code readahead_sec} are legacy keys, accepted and ignored. {@link #toString()} never shows secrets.
 *
 * @param host               registry host[:port], no scheme
 * @param repo               repository path without tag, e.g. {@code library/ubuntu}
 * @param scheme             only {@code http} selects http; anything else starts with https
 * @param auth               base64 of {@code user:password}, empty = none
 * @param registryToken      pre-obtained bearer token, empty = none
 * @param blobUrlScheme      replaces the scheme of redirect locations when set
 * @param blobRedirectedHost replaces the host of redirect locations when set
 * @param skipVerify         trust any certificate and host name; also enables the https to http fallback
 * @param caCertFiles        PEM files trusted in addition to the system roots
 * @param timeoutSecs        whole-request timeout, 0 = none
 * @param connectTimeoutSecs connect timeout, 0 = none
 * @param retryLimit         extra attempts of a failed read, with back-off 500 ms * 2^n
 * @param proxy              forward proxy / dfdaemon
 * @param mirrors            legacy mirrors, tried before the origin
 */
public record RegistryConfig(String host, String repo, String scheme, String auth, String registryToken,
                             String blobUrlScheme, String blobRedirectedHost, boolean skipVerify,
                             List<String> caCertFiles, int timeoutSecs, int connectTimeoutSecs, int retryLimit,
                             ProxyConfig proxy, List<MirrorConfig> mirrors) {

    @JsonCreator
    public RegistryConfig(@JsonProperty("host") String host,
                          @JsonProperty("repo") String repo,
                          @JsonProperty("scheme") String scheme,
                          @JsonProperty("auth") String auth,
                          @JsonProperty("registry_token") String registryToken,
                          @JsonProperty("blob_url_scheme") String blobUrlScheme,
                          @JsonProperty("blob_redirected_host") String blobRedirectedHost,
                          @JsonProperty("skip_verify") Boolean skipVerify,
                          @JsonProperty("ca_cert_files") List<String> caCertFiles,
                          @JsonProperty("timeout") Integer timeoutSecs,
                          @JsonProperty("connect_timeout") Integer connectTimeoutSecs,
                          @JsonProperty("retry_limit") Integer retryLimit,
                          @JsonProperty("proxy") ProxyConfig proxy,
                          @JsonProperty("mirrors") List<MirrorConfig> mirrors,
                          @JsonProperty("readahead") Boolean readahead,
                          @JsonProperty("readahead_sec") Integer readaheadSec) {
        this(host, repo, scheme, auth, registryToken, blobUrlScheme, blobRedirectedHost,
                skipVerify != null && skipVerify, caCertFiles, timeoutSecs == null ? 5 : timeoutSecs,
                connectTimeoutSecs == null ? 5 : connectTimeoutSecs, retryLimit == null ? 0 : retryLimit, proxy,
                mirrors);
    }

    public RegistryConfig {
        host = trim(host);
        repo = trim(repo);
        scheme = trim(scheme);
        auth = trim(auth);
        registryToken = trim(registryToken);
        blobUrlScheme = trim(blobUrlScheme);
        blobRedirectedHost = trim(blobRedirectedHost);
        caCertFiles = caCertFiles == null ? List.of() : List.copyOf(caCertFiles);
        proxy = proxy == null ? ProxyConfig.NONE : proxy;
        mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
        ConnectionLimits.check(timeoutSecs, connectTimeoutSecs, retryLimit);
        if (host.contains("://") || host.contains("/")) {
            throw new IllegalArgumentException("host must be host[:port] without scheme or path, got '" + host + "'");
        }
        if (!auth.isEmpty()) {
            checkAuth(auth);
        }
    }

    /** A config for {@code host} with every other key at its default (https, verify, 5 s timeouts, no retries). */
    public static RegistryConfig of(String host, String repo) {
        return new RegistryConfig(host, repo, "", "", "", "", "", false, List.of(), 5, 5, 0, ProxyConfig.NONE,
                List.of());
    }

    /** This config with another host and repo (what the snapshotter supplies per image). */
    public RegistryConfig withImage(String newHost, String newRepo) {
        return new RegistryConfig(newHost, newRepo, scheme, auth, registryToken, blobUrlScheme, blobRedirectedHost,
                skipVerify, caCertFiles, timeoutSecs, connectTimeoutSecs, retryLimit, proxy, mirrors);
    }

    /** This config with {@code auth} = base64 of {@code user:password}. */
    public RegistryConfig withCredentials(String user, String password) {
        String encoded = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        return withAuth(encoded);
    }

    /** This config with another {@code auth} value (base64 of {@code user:password}, empty = none). */
    public RegistryConfig withAuth(String newAuth) {
        return new RegistryConfig(host, repo, scheme, newAuth, registryToken, blobUrlScheme, blobRedirectedHost,
                skipVerify, caCertFiles, timeoutSecs, connectTimeoutSecs, retryLimit, proxy, mirrors);
    }

    /** This config with the TLS and scheme keys replaced. */
    public RegistryConfig withTls(String newScheme, boolean newSkipVerify, List<String> newCaCertFiles) {
        return new RegistryConfig(host, repo, newScheme, auth, registryToken, blobUrlScheme, blobRedirectedHost,
                newSkipVerify, newCaCertFiles, timeoutSecs, connectTimeoutSecs, retryLimit, proxy, mirrors);
    }

    /** This config with other timeouts and retry limit. */
    public RegistryConfig withTimeouts(int newTimeoutSecs, int newConnectTimeoutSecs, int newRetryLimit) {
        return new RegistryConfig(host, repo, scheme, auth, registryToken, blobUrlScheme, blobRedirectedHost,
                skipVerify, caCertFiles, newTimeoutSecs, newConnectTimeoutSecs, newRetryLimit, proxy, mirrors);
    }

    /** This config with another {@code proxy} and {@code mirrors}. */
    public RegistryConfig withProxy(ProxyConfig newProxy, List<MirrorConfig> newMirrors) {
        return new RegistryConfig(host, repo, scheme, auth, registryToken, blobUrlScheme, blobRedirectedHost,
                skipVerify, caCertFiles, timeoutSecs, connectTimeoutSecs, retryLimit, newProxy, newMirrors);
    }

    /** Whether requests start with plain http (only for the exact scheme {@code http}). */
    public boolean plainHttp() {
        return "http".equals(scheme);
    }

    private static String trim(String s) {
        return s == null ? "" : s.trim();
    }

    private static void checkAuth(String auth) {
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(auth), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            // the value itself is a secret: never echo it
            throw new IllegalArgumentException("Invalid registry auth config: 'auth' is not standard base64 of"
                    + " user:password (" + auth.length() + " characters)");
        }
        if (decoded.indexOf(':') < 0) {
            throw new IllegalArgumentException("Invalid registry auth config: decoded 'auth' has no ':' between user"
                    + " and password");
        }
    }

    @Override
    public String toString() {
        return "RegistryConfig[host=" + host + ", repo=" + repo + ", scheme=" + scheme
                + ", auth=" + (auth.isEmpty() ? "" : "<redacted>")
                + ", registry_token=" + (registryToken.isEmpty() ? "" : "<redacted>")
                + ", blob_url_scheme=" + blobUrlScheme + ", blob_redirected_host=" + blobRedirectedHost
                + ", skip_verify=" + skipVerify + ", ca_cert_files=" + caCertFiles + ", timeout=" + timeoutSecs
                + ", connect_timeout=" + connectTimeoutSecs + ", retry_limit=" + retryLimit + ", proxy=" + proxy
                + ", mirrors=" + mirrors + "]";
    }
}
