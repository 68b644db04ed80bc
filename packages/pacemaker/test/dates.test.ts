import { importCib, matchesDateSpec, parsePacemakerDate } from '@paceline/pacemaker';

describe('parsePacemakerDate', () => {
  it.each([
    ['2005-001', Date.UTC(2005, 0, 1)],
    ['2005-020', Date.UTC(2005, 0, 20)],
    ['2005-020T12:30', Date.UTC(2005, 0, 20, 12, 30)],
    ['2014-05-07 00:28:00', Date.UTC(2014, 4, 7, 0, 28)],
    ['2019-06-06T13:56:45Z', Date.UTC(2019, 5, 6, 13, 56, 45)],
    ['2019-09-23 18:00:00 -05:00', Date.UTC(2019, 8, 23, 23, 0)],
    ['2019-09-23T18:00:00+0200', Date.UTC(2019, 8, 23, 16, 0)],
    ['2005-W03-4', Date.UTC(2005, 0, 20)],
    ['2009-W01-1', Date.UTC(2008, 11, 29)],
    ['2020', Date.UTC(2020, 0, 1)],
  ])('%s', (text, ms) => expect(parsePacemakerDate(text)).toBe(ms));

  it('rejects what is not a date', () => {
    expect(parsePacemakerDate('tomorrow')).toBeUndefined();
    expect(parsePacemakerDate('2005-1-1')).toBeUndefined();
  });
});

describe('matchesDateSpec', () => {
  const t = Date.UTC(2005, 0, 20, 12, 30); // a Thursday, ISO week 3
  it('matches ranges and single values of every field', () => {
    expect(matchesDateSpec(t, { hours: '12' })).toBe(true);
    expect(matchesDateSpec(t, { hours: '9-11' })).toBe(false);
    expect(matchesDateSpec(t, { weekdays: '1-5', hours: '9-16', months: '1' })).toBe(true);
    expect(matchesDateSpec(t, { weekdays: '6-7' })).toBe(false);
    expect(matchesDateSpec(t, { yeardays: '20', weeks: '3', weekyears: '2005', monthdays: '20', minutes: '30-', years: '-2005' })).toBe(true);
    expect(matchesDateSpec(t, { moon: '1' })).toBeUndefined();
  });
});

describe('importCib: attribute sets guarded by date rules', () => {
  const xml = (execution = ''): string => `<cib have-quorum="1" ${execution}><configuration>
    <crm_config>
      <cluster_property_set id="window" score="100"><rule id="w" score="INFINITY">
        <date_expression id="wd" operation="in_range" start="2019-09-23 18:00:00 -05:00" end="2019-09-23 21:00:00 -05:00"/></rule>
        <nvpair id="mm" name="maintenance-mode" value="true"/></cluster_property_set>
      <cluster_property_set id="base"><nvpair id="s" name="stonith-enabled" value="false"/></cluster_property_set>
    </crm_config>
    <nodes><node id="1" uname="n1">
      <instance_attributes id="a1"><nvpair id="g1" name="group" value="old"/><rule id="r1" score="0"><date_expression id="d1" operation="lt" end="2005-001"/></rule></instance_attributes>
      <instance_attributes id="a2"><nvpair id="g2" name="group" value="new"/><rule id="r2" score="0"><date_expression id="d2" operation="gt" start="2005-001"/></rule></instance_attributes>
      <utilization id="u"><nvpair id="c" name="cpu" value="4"/><rule id="r3" score="0"><date_expression id="d3" operation="date_spec"><date_spec id="ds" hours="9-16"/></date_expression></rule></utilization>
    </node></nodes>
    <resources><primitive id="a" class="ocf" provider="heartbeat" type="Dummy">
      <meta_attributes id="m"><nvpair id="t" name="target-role" value="Stopped"/>
        <rule id="r4" score="0"><date_expression id="d4" operation="in_range" start="2019-01-01"><duration id="du" months="1"/></date_expression></rule></meta_attributes>
    </primitive></resources><constraints/></configuration><status/></cib>`;

  it('decides them at the given time', () => {
    const inWindow = importCib(xml(), { now: Date.UTC(2019, 8, 24, 0, 30) });
    expect(inWindow.config.properties.maintenanceMode).toBe(true);
    expect(inWindow.config.properties.stonithEnabled).toBe(false);
    expect(inWindow.config.nodes[0]).toMatchObject({ attributes: { group: 'new' }, utilization: {} });
    expect(inWindow.config.resources[0]!.meta.targetRole).toBeUndefined();
    expect(inWindow.unsupported).toEqual([]);

    const jan2019 = importCib(xml(), { now: Date.UTC(2019, 0, 15, 10) });
    expect(jan2019.config.properties.maintenanceMode).toBe(false);
    expect(jan2019.config.nodes[0]).toMatchObject({ utilization: { cpu: 4 } });
    expect(jan2019.config.resources[0]!.meta.targetRole).toBe('Stopped');
  });

  it('uses the CIB execution-date, then defaultNow, and reports the sets when no time is known', () => {
    const exec = importCib(xml('execution-date="1200000000"'), { defaultNow: 0 });
    expect(exec.now).toBe(1_200_000_000_000);
    expect(exec.config.nodes[0]!.attributes).toEqual({ group: 'new' });
    expect(importCib(xml(), { defaultNow: Date.UTC(2000, 0, 1) }).config.nodes[0]!.attributes).toEqual({ group: 'old' });
    const unknown = importCib(xml());
    expect(unknown.unsupported).toHaveLength(5);
    expect(unknown.config.nodes[0]!.attributes).toEqual({});
  });
});
