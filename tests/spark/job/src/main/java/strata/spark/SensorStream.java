package strata.spark;

import java.util.Locale;

/**
 * The deterministic sensor stream of the Spark test, in the demo's format
 * (client/cli/sensors.c): reading i comes from sensor s-(i mod 50) at site
 * (sensor mod 5), at event time T0 + i * stepMs, with temperature and
 * humidity whole hundredths spread around the demo's site means. Both the
 * producer and the checker compute it from i, so the expected window
 * averages are known exactly.
 */
final class SensorStream {
  static final String[] SITES = {"plant-a", "plant-b", "warehouse-c", "cold-store-d", "lab-e"};
  private static final int[] TEMP_CENTI = {2200, 2450, 1700, 350, 2100};
  private static final int[] HUM_CENTI = {4500, 5000, 6000, 3000, 4000};
  static final int SENSORS = 50;
  /** 2027-01-01T00:00:00Z: a whole number of windows, so windows start at T0. */
  static final long T0 = 1798761600000L;

  private SensorStream() {}

  static int sensor(int i) {
    return i % SENSORS;
  }

  static int site(int i) {
    return sensor(i) % SITES.length;
  }

  static String key(int i) {
    return String.format(Locale.ROOT, "s-%04d", sensor(i));
  }

  static long ts(int i, long stepMs) {
    return T0 + i * stepMs;
  }

  static int tempCenti(int i) {
    return TEMP_CENTI[site(i)] + (int) ((i * 7919L) % 201) - 100;
  }

  static int humCenti(int i) {
    return HUM_CENTI[site(i)] + (int) ((i * 104729L) % 401) - 200;
  }

  static String value(int i, long stepMs) {
    return value(key(i), ts(i, stepMs), tempCenti(i), humCenti(i), SITES[site(i)]);
  }

  static String value(String sensor, long ts, int tempCenti, int humCenti, String site) {
    return String.format(Locale.ROOT,
        "{\"sensor_id\":\"%s\",\"ts\":%d,\"temperature\":%.2f,\"humidity\":%.2f,\"site\":\"%s\"}",
        sensor, ts, tempCenti / 100.0, humCenti / 100.0, site);
  }
}
