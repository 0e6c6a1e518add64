package dev.nydus4j.backend.s3;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.StringJoiner;

/**
 * AWS Signature Version 4 in the header form nydus uses (BACKENDS.md 4.2): every given header is signed, values
 * are used as given, the payload hash is the caller's (reads send no body; uploads give their body's SHA-256), the
 * query is put in canonical form by {@link #canonicalQuery} (multipart uploads). Pure functions, thread-safe.
 */
final class SigV4 {
    /** SHA-256 of the empty body, sent as {@code x-amz-content-sha256}. */
    static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    static final String ALGORITHM = "AWS4-HMAC-SHA256";

    private SigV4() {
    }

    /**
     * The pieces of one signature.
     *
     * @param canonicalRequest the canonical request
     * @param stringToSign     the string to sign
     * @param signature        lowercase hex signature
     * @param authorization    value of the {@code Authorization} header
     * @param signedHeaders    the {@code SignedHeaders} list
     */
    record Signature(String canonicalRequest, String stringToSign, String signature, String authorization,
                     String signedHeaders) {
        @Override
        public String toString() {
            return "Signature[signedHeaders=" + signedHeaders + ", signature=" + signature + "]";
        }
    }

    /**
     * Signs a request.
     *
     * @param method      HTTP method
     * @param path        URI path as sent (already encoded)
     * @param query       raw query, empty for none
     * @param headers     lowercase header names to values; all are signed
     * @param payloadHash hex SHA-256 of the body
     * @param amzDate     {@code yyyyMMdd'T'HHmmss'Z'}
     */
    static Signature sign(String method, String path, String query, SortedMap<String, String> headers,
                          String payloadHash, String accessKeyId, String secret, String region, String service,
                          String amzDate) {
        StringJoiner names = new StringJoiner(";");
        StringBuilder canonicalHeaders = new StringBuilder();
        for (Map.Entry<String, String> h : headers.entrySet()) {
            names.add(h.getKey());
            canonicalHeaders.append(h.getKey()).append(':').append(h.getValue()).append('\n');
        }
        String signedHeaders = names.toString();
        String canonicalRequest = method + "\n" + path + "\n" + query + "\n" + canonicalHeaders + "\n"
                + signedHeaders + "\n" + payloadHash;
        String date = amzDate.substring(0, 8);
        String scope = date + "/" + region + "/" + service + "/aws4_request";
        String stringToSign = ALGORITHM + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalRequest);
        String signature = HexFormat.of().formatHex(
                hmac(signingKey(secret, date, region, service), stringToSign));
        String authorization = ALGORITHM + " Credential=" + accessKeyId + "/" + scope + ", SignedHeaders="
                + signedHeaders + ", Signature=" + signature;
        return new Signature(canonicalRequest, stringToSign, signature, authorization, signedHeaders);
    }

    /** kSigning = HMAC chain over date, region, service and {@code aws4_request}. */
    static byte[] signingKey(String secret, String date, String region, String service) {
        byte[] k = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
        k = hmac(k, region);
        k = hmac(k, service);
        return hmac(k, "aws4_request");
    }

    static String sha256Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /**
     * Encodes an object key for the URI path as S3 expects: every byte except unreserved characters and
     * {@code /} as {@code %XX} (uppercase), so each segment is encoded once.
     */
    static String encodePath(String key) {
        StringBuilder sb = new StringBuilder();
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~' || c == '/') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return sb.toString();
    }

    /**
     * The canonical query string of SigV4: each {@code name=value} pair (a bare name gets an empty value, as
     * {@code uploads=}) decoded and encoded again like {@link #encodeComponent}, sorted by name, then value.
     */
    static String canonicalQuery(String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return "";
        }
        java.util.List<String[]> pairs = new java.util.ArrayList<>();
        for (String p : rawQuery.split("&")) {
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            String name = eq < 0 ? p : p.substring(0, eq);
            String value = eq < 0 ? "" : p.substring(eq + 1);
            pairs.add(new String[]{encodeComponent(decode(name)), encodeComponent(decode(value))});
        }
        pairs.sort(java.util.Comparator.<String[], String>comparing(a -> a[0]).thenComparing(a -> a[1]));
        StringJoiner out = new StringJoiner("&");
        pairs.forEach(a -> out.add(a[0] + "=" + a[1]));
        return out.toString();
    }

    /** Encodes a query name or value: every byte except unreserved characters as {@code %XX} (uppercase). */
    static String encodeComponent(String s) {
        return encodePath(s).replace("/", "%2F");
    }

    /** Percent-decoding ({@code +} stays {@code +}: S3 query values are strictly percent-encoded); as is if malformed. */
    private static String decode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        try {
            return java.net.URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }

    private static byte[] hmac(byte[] key, String msg) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(msg.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
