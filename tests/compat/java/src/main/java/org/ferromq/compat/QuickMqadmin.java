package org.ferromq.compat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * Runs Apache's {@code mqadmin} ({@code MQAdminStartup.main}, found on the classpath, so the
 * same class serves rocketmq-tools 5.3.3 and 4.9.8) and ends the JVM as soon as the command has
 * returned, instead of idling through the client's shutdown:
 *
 * <ul>
 *   <li>the remoting client's event thread polls its queue with a 3 s timeout and its shutdown
 *       joins it, so a command's shutdown waits for the current poll to time out; while the
 *       command's thread is inside {@code ServiceThread.shutdown} a watcher interrupts that
 *       event thread, whose loop then sees it was stopped and ends;
 *   <li>Netty's worker threads shut down gracefully with a 2 s quiet period and are not
 *       daemons, so the JVM would outlive the command by that much: after the command returns,
 *       the output is flushed and the JVM exits with status 0, as {@code MQAdminStartup} itself
 *       ends (a command's failure is printed, never an exit status).
 * </ul>
 *
 * <p>What the command prints is unchanged; each run takes about 0.5 s instead of 2.5-5 s. Only
 * the tests use it (tests/src/mqadmin.rs); operators run Apache's own script.
 */
public final class QuickMqadmin {
    private QuickMqadmin() {}

    public static void main(String[] args) throws Exception {
        Thread command = Thread.currentThread();
        Thread watcher = new Thread(() -> interruptEventThreadsOnShutdown(command), "quick-mqadmin");
        watcher.setDaemon(true);
        watcher.start();
        Method main = Class.forName("org.apache.rocketmq.tools.command.MQAdminStartup")
            .getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            // As if MQAdminStartup.main had thrown it itself.
            throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
        }
        System.out.flush();
        System.err.flush();
        System.exit(0);
    }

    private static void interruptEventThreadsOnShutdown(Thread command) {
        while (true) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                return;
            }
            if (!inServiceThreadShutdown(command)) {
                continue;
            }
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().startsWith("NettyEventExecutor")) {
                    t.interrupt();
                }
            }
        }
    }

    private static boolean inServiceThreadShutdown(Thread command) {
        for (StackTraceElement frame : command.getStackTrace()) {
            if (frame.getClassName().endsWith(".ServiceThread")
                && frame.getMethodName().equals("shutdown")) {
                return true;
            }
        }
        return false;
    }
}
