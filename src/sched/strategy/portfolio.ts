/**
 * The portfolio: the default of explore campaigns. Trial t runs strategy PORTFOLIO[t mod 4] — POS
 * first (Fray's default), then SURW, PCT and a random walk — so no single strategy's blind spot
 * decides the verdict, and a trial is still a pure function of (seed, trial): its strategy is.
 */
export type ConcreteStrategy = 'random' | 'pct' | 'pos' | 'surw';

export const PORTFOLIO: readonly ConcreteStrategy[] = ['pos', 'surw', 'pct', 'random'];

/** The strategy trial `trial` of a portfolio campaign runs. */
export const portfolioStrategy = (trial: number): ConcreteStrategy => PORTFOLIO[trial % PORTFOLIO.length]!;
