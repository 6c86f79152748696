package strata.kafkatest;

/**
 * The driver's verdicts: one "ok   what" or "FAIL what: why" line per check,
 * in the style of the shell tests, and a count for the exit code.
 */
final class Checks {
  private int failed;
  private int passed;

  void ok(String what) {
    passed++;
    System.out.println("ok   " + what);
    System.out.flush();
  }

  void fail(String what) {
    failed++;
    System.out.println("FAIL " + what);
    System.out.flush();
  }

  /** ok(what) when cond holds, else fail(what + ": " + why). */
  boolean check(boolean cond, String what, String why) {
    if (cond) ok(what);
    else fail(what + ": " + why);
    return cond;
  }

  static void note(String line) {
    System.out.println("     " + line);
    System.out.flush();
  }

  int failed() {
    return failed;
  }

  int passed() {
    return passed;
  }
}
