package strata.kafkatest;

/**
 * The Java-client test driver (tests/kafka/java_test.sh runs it):
 *
 *   basic BOOTSTRAP [BROKERS [RECORDS]]      Admin, producer, consumer group (parts a-c)
 *   failover BOOTSTRAP TOPIC RECORDS SECONDS  a paced idempotent stream across a leader kill (d)
 *   consumer848 BOOTSTRAP RECORDS             a group.protocol=consumer group (KIP-848)
 *   classic-groups BOOTSTRAP                  cooperative, static and poll-timeout classic groups
 *
 * Prints one "ok"/"FAIL" line per check and exits 1 when any failed, 2 on
 * bad arguments.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    Checks c = new Checks();
    try {
      if (args.length >= 2 && args[0].equals("basic")) {
        int brokers = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int records = args.length > 3 ? Integer.parseInt(args[3]) : 3000;
        new Basic(args[1], brokers, records, c).run();
      } else if (args.length == 5 && args[0].equals("failover")) {
        new Failover(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]), c).run();
      } else if (args.length == 3 && args[0].equals("consumer848")) {
        new ConsumerProtocol(args[1], Integer.parseInt(args[2]), c).run();
      } else if (args.length == 2 && args[0].equals("classic-groups")) {
        new ClassicGroups(args[1], c).run();
      } else {
        System.err.println("usage: Main basic BOOTSTRAP [BROKERS [RECORDS]]");
        System.err.println("       Main consumer848 BOOTSTRAP RECORDS");
        System.err.println("       Main classic-groups BOOTSTRAP");
        System.err.println("       Main failover BOOTSTRAP TOPIC RECORDS SECONDS");
        System.exit(2);
      }
    } catch (Exception e) {
      c.fail("unexpected exception: " + e);
      e.printStackTrace(System.out);
    }
    System.out.println("driver: " + c.passed() + " checks passed, " + c.failed() + " failed");
    System.out.flush();
    // Client threads (a stuck consumer, say) must not keep the JVM alive.
    Runtime.getRuntime().halt(c.failed() == 0 ? 0 : 1);
  }
}
