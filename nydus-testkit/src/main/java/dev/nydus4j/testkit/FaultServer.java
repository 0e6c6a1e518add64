package dev.nydus4j.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A raw-socket HTTP/1.1 server serving one blob with Range support at any path, answering each GET with the
 * next scripted fault (then normally): 500s, connection resets, stalls (before or inside the body), truncated,
 * over-long or shifted bodies, ignored ranges.
 * Records the headers of every request. Any target is the blob (origin-form or absolute-form, so it also works as a
 * forward proxy or as an object store). Closing it stops the accept loop and every connection. For backend tests
 * (the conformance suite's fault cases) and plugin authors.
 */
public final class FaultServer implements AutoCloseable {
    public enum Fault {
        OK, STATUS_500, RESET, STALL, TRUNCATE, IGNORE_RANGE,
        /** Headers and half the body, then silence for 10 s. */
        STALL_BODY,
        /** 206 whose Content-Range and bytes start one byte later than asked. */
        SHIFTED_RANGE,
        /** 206 with the right Content-Range but 10 extra bytes in the body (and Content-Length). */
        LONG_BODY
    }

    /** One received request: method, target and lower-case headers. */
    public record Seen(String method, String target, Map<String, String> headers) {
    }

    public final Queue<Fault> script = new ConcurrentLinkedQueue<>();
    public final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final byte[] blob;
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    public FaultServer(byte[] blob) throws IOException {
        this.blob = blob;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "fault-server-accept");
        t.setDaemon(true);
        t.start();
    }

    /** {@code 127.0.0.1:<port>}. */
    public String host() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** Queues faults: the next GET requests get them in order, then the server behaves (HEAD always answers). */
    public void script(Fault... faults) {
        script.addAll(List.of(faults));
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                Thread t = new Thread(() -> serve(s), "fault-server-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (!closed) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                String[] lines = head.split("\r\n");
                String[] requestLine = lines[0].split(" ");
                Map<String, String> headers = new TreeMap<>();
                for (int i = 1; i < lines.length; i++) {
                    int c = lines[i].indexOf(':');
                    if (c > 0) {
                        headers.put(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
                    }
                }
                seen.add(new Seen(requestLine[0], requestLine[1], headers));
                Fault f = requestLine[0].equals("GET") ? script.poll() : null; // size probes (HEAD) always work
                if (!respond(f == null ? Fault.OK : f, requestLine[0], headers, s, out)) {
                    return;
                }
            }
        } catch (IOException | InterruptedException e) {
            // connection ended: nothing to serve any more
        }
    }

    /** @return false when the connection must end */
    private boolean respond(Fault f, String method, Map<String, String> headers, Socket s, OutputStream out)
            throws IOException, InterruptedException {
        long first = 0;
        long last = blob.length - 1;
        boolean ranged = false;
        String range = headers.get("range");
        if (range != null && range.startsWith("bytes=") && f != Fault.IGNORE_RANGE) {
            String[] p = range.substring(6).split("-");
            first = Long.parseLong(p[0]);
            last = p.length > 1 && !p[1].isEmpty() ? Math.min(Long.parseLong(p[1]), blob.length - 1) : blob.length - 1;
            ranged = true;
        }
        int len = (int) (last - first + 1);
        switch (f) {
            case STATUS_500 -> {
                write(out, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nboom!");
                return true;
            }
            case RESET -> {
                s.setSoLinger(true, 0);
                return false;
            }
            case STALL -> {
                write(out, "HTTP/1.1 206 Partial Content\r\nContent-Length: " + len + "\r\n\r\n");
                Thread.sleep(10_000);
                return false;
            }
            default -> {
            }
        }
        if (f == Fault.SHIFTED_RANGE && ranged && last + 1 < blob.length) {
            first++;
            last++;
        }
        if (ranged && first >= blob.length) {
            write(out, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" + blob.length
                    + "\r\nContent-Length: 0\r\n\r\n");
            return true;
        }
        String status = ranged ? "206 Partial Content" : "200 OK";
        int extra = f == Fault.LONG_BODY ? 10 : 0;
        String head = "HTTP/1.1 " + status + "\r\nContent-Length: " + (len + extra) + "\r\n"
                + (ranged ? "Content-Range: bytes " + first + "-" + last + "/" + blob.length + "\r\n" : "") + "\r\n";
        write(out, head);
        if (method.equals("HEAD")) {
            return true;
        }
        if (f == Fault.STALL_BODY) {
            out.write(blob, (int) first, len / 2);
            out.flush();
            Thread.sleep(10_000);
            return false;
        }
        if (f == Fault.LONG_BODY) {
            out.write(blob, (int) first, len);
            out.write(new byte[extra]);
            out.flush();
            return true;
        }
        if (f == Fault.TRUNCATE) {
            out.write(blob, (int) first, len / 2);
            out.flush();
            return false;
        }
        out.write(blob, (int) first, len);
        out.flush();
        return true;
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            b.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1
                    : (c == '\r' ? 1 : 0);
            if (b.size() > 64 * 1024) {
                throw new IOException("request head too large");
            }
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (SocketException ignored) {
                // already closed by the peer
            }
        }
    }
}
