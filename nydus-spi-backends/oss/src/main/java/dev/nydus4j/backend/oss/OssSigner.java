package dev.nydus4j.backend.oss;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** Alibaba Cloud OSS signature V1, header form (BACKENDS.md 3.2). Pure functions, thread-safe. */
final class OssSigner {
    /** RFC 1123 date as OSS wants it, always two-digit days: {@code Thu, 17 Nov 2005 18:49:58 GMT}. */
    static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

    private OssSigner() {
    }

    /**
     * The string to sign: verb, Content-MD5, Content-Type, date (or Expires), the {@code x-oss-*} headers sorted
     * by lowercase name as {@code name:value\n}, and the canonical resource.
     */
    static String stringToSign(String verb, String contentMd5, String contentType, String date,
                               Map<String, String> headers, String canonicalResource) {
        TreeMap<String, String> oss = new TreeMap<>();
        headers.forEach((k, v) -> {
            String name = k.toLowerCase(Locale.ROOT);
            if (name.startsWith("x-oss-")) {
                oss.put(name, v);
            }
        });
        StringBuilder sb = new StringBuilder();
        sb.append(verb).append('\n').append(contentMd5).append('\n').append(contentType).append('\n').append(date)
                .append('\n');
        oss.forEach((k, v) -> sb.append(k).append(':').append(v).append('\n'));
        return sb.append(canonicalResource).toString();
    }

    /**
     * Query parameters that are OSS sub-resources and so part of the canonical resource (OSS docs, "Include
     * signatures in the Authorization header": CanonicalizedResource); other parameters are not signed.
     */
    static final java.util.Set<String> SUB_RESOURCES = java.util.Set.of("acl", "uploads", "location", "cors",
            "logging", "website", "referer", "lifecycle", "delete", "append", "tagging", "objectMeta", "uploadId",
            "partNumber", "security-token", "position", "img", "style", "styleName", "replication",
            "replicationProgress", "replicationLocation", "cname", "bucketInfo", "comp", "qos", "live", "status",
            "vod", "startTime", "endTime", "symlink", "x-oss-process", "response-content-type",
            "response-content-language", "response-expires", "response-cache-control",
            "response-content-disposition", "response-content-encoding", "udf", "udfName", "udfImage", "udfId",
            "udfImageDesc", "udfApplication", "udfApplicationLog", "restore", "callback", "callback-var",
            "continuation-token", "versionId", "versioning", "versions", "policy", "requestPayment", "encryption",
            "inventory", "worm", "wormId", "wormExtend", "stat", "objectInfo");

    /**
     * The canonical resource of a request: {@code base} ({@code /bucket/key}) plus the sub-resources of the raw
     * query, decoded, sorted by name, as {@code ?name[=value]&...} (a bare name, as {@code uploads}, stays bare).
     */
    static String canonicalResource(String base, String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return base;
        }
        TreeMap<String, String> subs = new TreeMap<>();
        for (String p : rawQuery.split("&")) {
            int eq = p.indexOf('=');
            String name = decode(eq < 0 ? p : p.substring(0, eq));
            if (SUB_RESOURCES.contains(name)) {
                subs.put(name, eq < 0 ? null : decode(p.substring(eq + 1)));
            }
        }
        if (subs.isEmpty()) {
            return base;
        }
        StringBuilder sb = new StringBuilder(base);
        char sep = '?';
        for (Map.Entry<String, String> e : subs.entrySet()) {
            sb.append(sep).append(e.getKey());
            if (e.getValue() != null && !e.getValue().isEmpty()) {
                sb.append('=').append(e.getValue());
            }
            sep = '&';
        }
        return sb.toString();
    }

    private static String decode(String s) {
        try {
            return java.net.URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }

    /** Base64 of HMAC-SHA1 of the string with the secret. */
    static String signature(String secret, String stringToSign) {
        try {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
            return Base64.getEncoder().encodeToString(mac.doFinal(stringToSign.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA1 unavailable", e);
        }
    }

    /** {@code Authorization} value: {@code OSS <access key id>:<signature>}. */
    static String authorization(String accessKeyId, String signature) {
        return "OSS " + accessKeyId + ":" + signature;
    }
}
