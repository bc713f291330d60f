package com.example.textstats;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** Tiny text statistics library shared by several services. */
public final class TextStats {
    private TextStats() {}

    public static int words(String text) {
        String t = text.trim();
        return t.isEmpty() ? 0 : t.split("\\s+").length;
    }

    public static Map<String, Integer> frequencies(String text) {
        Map<String, Integer> out = new TreeMap<>();
        for (String w : text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
            if (!w.isEmpty()) {
                out.merge(w, 1, Integer::sum);
            }
        }
        return out;
    }

    public static String slug(String text) {
        return text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
    }
}
