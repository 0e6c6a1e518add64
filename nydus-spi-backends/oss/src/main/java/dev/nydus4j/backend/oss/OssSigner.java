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
