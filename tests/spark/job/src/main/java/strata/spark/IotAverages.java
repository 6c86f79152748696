package strata.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.round;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.window;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StateOperatorProgress;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The seed's IoT pipeline: a Structured Streaming query reads the demo's
 * sensor readings (key "s-NNNN", JSON value with sensor_id, ts in ms,
 * temperature, humidity, site) from a Kafka topic, averages them per site
 * over event-time tumbling windows behind a watermark, and writes each
 * closed window to another Kafka topic (append mode, so a window is written
 * once it can no longer change), keyed "site|window start ms". Progress
 * lives in the checkpoint folder, so a stopped query resumes where it was.
 *
 * Usage: IotAverages BOOTSTRAP IN_TOPIC OUT_TOPIC CHECKPOINT STOP_FILE [WINDOW [WATERMARK]]
 * The query runs until STOP_FILE exists (then it stops cleanly, exit 0) or
 * fails (exit 1). It prints "QUERY STARTED" and one "PROGRESS" line a batch
 * (its input rows, the watermark it ran with, rows dropped as too late).
 */
public final class IotAverages {
  private IotAverages() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 5) {
      System.err.println("usage: IotAverages BOOTSTRAP IN_TOPIC OUT_TOPIC CHECKPOINT STOP_FILE [WINDOW [WATERMARK]]");
      System.exit(2);
    }
    String bootstrap = args[0];
    String windowLen = args.length > 5 ? args[5] : "2 seconds";
    String watermark = args.length > 6 ? args[6] : "5 seconds";
    Path stop = Path.of(args[4]);
    SparkSession spark = SparkSession.builder()
        .appName("strata-iot-averages")
        .master("local[2]")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");

    StructType reading = new StructType()
        .add("sensor_id", DataTypes.StringType)
        .add("ts", DataTypes.LongType)
        .add("temperature", DataTypes.DoubleType)
        .add("humidity", DataTypes.DoubleType)
        .add("site", DataTypes.StringType);
    Dataset<Row> readings = spark.readStream().format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", args[1])
        .option("startingOffsets", "earliest")
        .load()
        .select(from_json(col("value").cast("string"), reading).as("r"))
        .select("r.*")
        .where(col("site").isNotNull().and(col("ts").isNotNull()))
        .withColumn("event_time", expr("timestamp_millis(ts)"));
    // Sums of hundredths as integers: exact whatever order the rows are
    // added in, so a window computed twice comes out byte for byte the same.
    Dataset<Row> windows = readings
        .withWatermark("event_time", watermark)
        .groupBy(window(col("event_time"), windowLen), col("site"))
        .agg(count(lit(1)).as("n"),
            sum(round(col("temperature").multiply(100)).cast("long")).as("temp_centi_sum"),
            sum(round(col("humidity").multiply(100)).cast("long")).as("hum_centi_sum"));
    Dataset<Row> out = windows.select(
        expr("concat(site, '|', CAST(unix_millis(window.start) AS STRING))").as("key"),
        to_json(struct(
            col("site"),
            expr("unix_millis(window.start)").as("window_start"),
            expr("unix_millis(window.end)").as("window_end"),
            col("n"),
            col("temp_centi_sum"),
            col("hum_centi_sum"),
            expr("temp_centi_sum / n / 100.0").as("avg_temperature"),
            expr("hum_centi_sum / n / 100.0").as("avg_humidity"))).as("value"));

    StreamingQuery q = out.writeStream().format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("topic", args[2])
        .option("checkpointLocation", args[3])
        .outputMode("append")
        .trigger(Trigger.ProcessingTime("1 second"))
        .queryName("iot-averages")
        .start();
    System.out.println("QUERY STARTED " + q.id() + " spark " + spark.version());
    System.out.flush();
    long lastBatch = -1;
    while (q.isActive()) {
      if (Files.exists(stop)) {
        System.out.println("STOPPING");
        System.out.flush();
        q.stop();
        break;
      }
      q.awaitTermination(500);
      StreamingQueryProgress p = q.lastProgress();
      if (p != null && p.batchId() != lastBatch) {
        lastBatch = p.batchId();
        Map<String, String> et = p.eventTime();
        long dropped = 0;
        for (StateOperatorProgress s : p.stateOperators()) dropped += s.numRowsDroppedByWatermark();
        System.out.println("PROGRESS batch " + p.batchId() + " rows " + p.numInputRows()
            + " watermark " + (et == null ? null : et.get("watermark")) + " late " + dropped);
        System.out.flush();
      }
    }
    int rc = 0;
    if (q.exception().isDefined()) {
      System.out.println("QUERY FAILED " + q.exception().get());
      rc = 1;
    } else {
      System.out.println("QUERY STOPPED");
    }
    System.out.flush();
    spark.stop();
    Runtime.getRuntime().halt(rc);
  }
}
