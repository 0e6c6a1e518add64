package dev.nydus4j.backend.objectstorage;

import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.apache.hc.client5.http.ssl.HostnameVerificationPolicy;
import org.apache.hc.client5.http.ssl.NoopHostnameVerifier;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Builds the TLS strategy of {@code skip_verify} and {@code ca_cert_files} (CONFIG.md 5.1), for every HTTP backend
 * (registry, oss, s3).
 */
public final class TlsContexts {
    private TlsContexts() {
    }

    /** @param backendType names the backend in errors */
    public static TlsSocketStrategy strategy(String backendType, boolean skipVerify, List<String> caCertFiles)
            throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            if (skipVerify) {
                ctx.init(null, new TrustManager[]{new TrustAll()}, null);
                return new DefaultClientTlsStrategy(ctx, HostnameVerificationPolicy.CLIENT,
                        NoopHostnameVerifier.INSTANCE);
            }
            if (caCertFiles.isEmpty()) {
                return DefaultClientTlsStrategy.createDefault();
            }
            ctx.init(null, new TrustManager[]{withExtraRoots(caCertFiles)}, null);
            return new DefaultClientTlsStrategy(ctx);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot set up TLS for " + backendType + " backend: " + e.getMessage(), e);
        }
    }

    /** System roots plus every certificate of the PEM files; a file that is unreadable or holds none fails. */
    private static X509TrustManager withExtraRoots(List<String> files) throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        TrustManagerFactory system = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        system.init((KeyStore) null);
        int n = 0;
        for (TrustManager tm : system.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                for (X509Certificate c : x.getAcceptedIssuers()) {
                    store.setCertificateEntry("system-" + n++, c);
                }
            }
        }
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        for (String file : files) {
            Collection<? extends Certificate> certs;
            try (InputStream in = Files.newInputStream(Path.of(file))) {
                certs = cf.generateCertificates(in);
            } catch (IOException | GeneralSecurityException e) {
                throw new IOException("ca_cert_files: cannot read certificates from " + file + ": " + e.getMessage(), e);
            }
            if (certs.isEmpty()) {
                throw new IOException("ca_cert_files: " + file + " holds no PEM certificate");
            }
            for (Certificate c : new ArrayList<>(certs)) {
                store.setCertificateEntry("ca-" + n++, c);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X509TrustManager available");
    }

    /** {@code skip_verify}: every chain is accepted, as upstream's {@code danger_accept_invalid_certs}. */
    private static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
