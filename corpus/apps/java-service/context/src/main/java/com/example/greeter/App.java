package com.example.greeter;

import com.example.textstats.TextStats;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/** Greeting + text statistics HTTP service. */
public final class App {
    static final String VERSION = "1.2.0";

    private final Properties config;

    App(Properties config) {
        this.config = config;
    }

    static Properties loadConfig() throws IOException {
        Path path = Path.of(System.getenv().getOrDefault("APP_CONFIG", "config/application.properties"));
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(path)) {
            p.load(in);
        }
        return p;
    }

    String greet(String name) {
        return config.getProperty("greeting", "Hello") + ", " + name + "!";
    }

    String stats(String text) {
        return "words=" + TextStats.words(text) + " slug=" + TextStats.slug(text)
                + " freq=" + TextStats.frequencies(text);
    }

    void serve() throws IOException {
        int port = Integer.parseInt(config.getProperty("server.port", "8080"));
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/healthz", ex -> send(ex, 200, "{\"status\":\"ok\",\"version\":\"" + VERSION + "\"}"));
        server.createContext("/greet", ex -> {
            String q = ex.getRequestURI().getQuery();
            send(ex, 200, greet(q != null && q.startsWith("name=") ? q.substring(5) : "world"));
        });
        server.createContext("/stats", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            send(ex, 200, stats(body));
        });
        server.start();
        System.out.println(config.getProperty("app.name") + " " + VERSION + " listening on " + port);
    }

    private static void send(HttpExchange ex, int code, String body) throws IOException {
        byte[] data = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(code, data.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(data);
        }
    }

    int selftest() {
        System.out.println(config.getProperty("app.name") + " " + VERSION + " java " + Runtime.version().feature());
        System.out.println(greet("selftest"));
        System.out.println(stats("The quick brown fox jumps over the lazy dog. The end"));
        return 0;
    }

    public static void main(String[] args) throws IOException {
        App app = new App(loadConfig());
        if (args.length > 0 && args[0].equals("--selftest")) {
            System.exit(app.selftest());
        }
        app.serve();
    }
}
